"""manage.py simulate_fleet --piles N: that many of this node's piles, as real OCPP clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gateway.services import store_credential
from gateway.simulator.fleet import PileSpec, run_fleet, verify_sessions
from gateway.simulator.piles import Plan
from gateway.simulator.spv import LedgerView
from ledger.runtime import node
from registry import services as registry_services
from registry.models import Pile, User
from registry.roles import InstitutionRole, StaffRole


class Command(BaseCommand):
    help = "Run simulated charge points (OCPP 1.6 and 2.0.1) against this node's gateway."

    def add_arguments(self, parser):
        parser.add_argument("--piles", type=int, default=4)
        parser.add_argument("--url", default="ws://127.0.0.1:8000", help="the central system's websocket base URL")
        parser.add_argument("--api", default=None, help="the node's HTTP base URL (default: from --url)")
        parser.add_argument("--protocol", choices=["mixed", "1.6", "2.0.1"], default="mixed")
        parser.add_argument("--sessions", type=int, default=None, help="sessions per pile (default: run until --duration)")
        parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until sessions)")
        parser.add_argument("--heartbeat", type=float, default=30)
        parser.add_argument("--meter-interval", type=float, default=5)
        parser.add_argument("--meters-per-session", type=int, default=6)
        parser.add_argument("--samples", type=int, default=4, help="sampled values per MeterValues (1-10)")
        parser.add_argument("--fault-rate", type=float, default=0.1)
        parser.add_argument("--signed-share", type=float, default=0.5, help="share of piles that sign with OCMF")
        parser.add_argument("--aligned", type=float, default=900,
                            help="seconds between clock-aligned register readings (the agreed interval; 0: none)")
        parser.add_argument("--no-spv", action="store_true", help="skip the light-node receipt checks")
        parser.add_argument("--token", default=None, help="API token for the light nodes (default: one is made)")

    def handle(self, *args, **o):
        if o["sessions"] is None and o["duration"] is None:
            o["sessions"] = 2
        specs = self._specs(o)
        if not specs:
            raise CommandError("no active pile with a connector on this node's operators")
        plan = Plan(
            heartbeat_s=o["heartbeat"], meter_interval_s=o["meter_interval"], meters_per_session=o["meters_per_session"],
            idle_s=max(1.0, o["meter_interval"]), fault_rate=o["fault_rate"], samples_per_message=o["samples"],
            aligned_s=o["aligned"],
        )
        self.stdout.write(f"{len(specs)} piles: " + ", ".join(f"{s.code}({s.protocol}{', OCMF' if s.meter_key else ''})"
                                                               for s in specs))
        results = asyncio.run(run_fleet(o["url"], specs, plan, sessions=o["sessions"], duration=o["duration"],
                                        ramp_s=min(10.0, len(specs) * 0.05)))
        for code, stats in results.items():
            if isinstance(stats, Exception):
                self.stdout.write(f"  {code}: failed: {stats}")
            else:
                self.stdout.write(f"  {code}: {stats.sessions} sessions, {stats.meter_messages} MeterValues "
                                  f"({stats.samples} samples), {stats.faults} faults")
        if not o["no_spv"]:
            self._spv(o, [s.code for s in specs])

    def _specs(self, o) -> list[PileSpec]:
        hosted = [m.code for m in node.consortium().members if node.signs_for(m.code)] if node.configured() else []
        piles = (Pile.objects.filter(status="active", station__operator__code__in=hosted, connectors__isnull=False)
                 .distinct().order_by("code")[: o["piles"]])
        devices = Path(settings.NODE_DIR) / "devices"
        specs = []
        for index, pile in enumerate(piles):
            protocol = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}.get(o["protocol"]) or ("ocpp1.6" if index % 2 == 0 else "ocpp2.0.1")
            key = None
            key_file = devices / f"{pile.code}.meter.pem"
            if key_file.exists() and (index * 0.618) % 1 < o["signed_share"]:
                key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            password = store_credential(pile_code=pile.code)  # a fresh password for each run
            connectors = list(pile.connectors.order_by("connector_id").values_list("connector_id", flat=True))
            specs.append(PileSpec(pile.code, password, protocol, connectors, key))
        return specs

    def _spv(self, o, codes):
        api = o["api"] or o["url"].replace("ws://", "http://").replace("wss://", "https://")
        by_operator: dict[str, list[str]] = {}
        for code, operator in Pile.objects.filter(code__in=codes).values_list("code", "station__operator__code"):
            by_operator.setdefault(operator, []).append(code)
        report = {}
        for operator, piles in sorted(by_operator.items()):
            # A pile reads what its operator may see: each operator's piles use a token of that operator.
            token = o["token"]
            if token is None:
                manager = User.objects.filter(
                    institution__code=operator, institution__role=InstitutionRole.OPERATOR,
                    staff_role=StaffRole.MANAGER, is_active=True,
                ).first()
                if manager is None:
                    self.stdout.write(f"light nodes of {operator}: no manager to issue an API token; pass --token")
                    continue
                _, token = registry_services.api_token_create(actor=manager, name="simulate_fleet light nodes")
            view = LedgerView(api, token, node.consortium().validators())
            report.update(verify_sessions(view, piles))
        for code, (ok, pending, failures) in report.items():
            line = f"  {code}: {ok} session records verified by receipt against verified headers"
            if pending:
                line += f", {pending} not committed yet"
            if failures:
                line += f", FAILED: {'; '.join(failures)}"
            self.stdout.write(line)
