"""Demo data for a node of the local consortium: its people, and its institution's part of the
registry, sent as transactions and waited for.

Run it on each node, grid first (stations need their grid areas committed):
    GRID: 4 grid areas    OPERATOR-A: 3 stations, 6 piles with plugs and keys (one a dedicated depot pile)
    OPERATOR-B: 2 stations, 4 piles (a competitor, one station in an area OPERATOR-A serves too)
    METROLOGY: 2 test boxes with keys    every node: admin plus its institution's staff
(`python -m config.localnet` does this.) Idempotent: run it again and it only adds what is missing.
Everything goes through the registry's services, the way real data arrives. Demo devices' private
keys go to var/<node>/devices/ (mode 0600) for the fleet simulator and field agent; only public keys
are registered.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ledger.chain.crypto import ED25519, P256, SigningKey
from ledger.models import Submission, TxStatus
from ledger.runtime import node
from registry import services
from registry.models import FieldTestBox, GridArea, Institution, Pile, StaffRole, Station, User

DEMO_PASSWORD = "pilechain-demo"

# username, institution, staff role
USERS = [
    ("operator_a", "OPERATOR-A", StaffRole.MANAGER),
    ("operator_a_eng", "OPERATOR-A", StaffRole.ENGINEER),
    ("operator_b", "OPERATOR-B", StaffRole.MANAGER),
    ("operator_b_eng", "OPERATOR-B", StaffRole.ENGINEER),
    ("metrology", "METROLOGY", StaffRole.MANAGER),
    ("metrology_eng", "METROLOGY", StaffRole.ENGINEER),
    ("grid", "GRID", StaffRole.MANAGER),
    ("regulator", "REGULATOR", StaffRole.MANAGER),
]

GRID_AREAS = [
    ("SH-PD-ZJ", "Pudong Zhangjiang", "Zhangjiang 10 kV feeder 3", "ZJ-T2 1250 kVA", Decimal("1000")),
    ("SH-PD-LJZ", "Pudong Lujiazui", "Lujiazui 10 kV feeder 7", "LJZ-T1 2000 kVA", Decimal("1600")),
    ("SH-XH-XJH", "Xuhui Xujiahui", "Xujiahui 10 kV feeder 2", "XJH-T4 1000 kVA", Decimal("800")),
    ("SH-JA-NJW", "Jing'an Nanjing West Road", "Nanjing Rd 10 kV feeder 5", "NJW-T1 800 kVA", Decimal("640")),
]

# operator, code, name, address, latitude, longitude, grid area, contact, phone
STATIONS = [
    ("OPERATOR-A", "SHA-ZJ-PR", "Zhangjiang Hi-Tech Park P+R", "88 Keyuan Road, Pudong New Area, Shanghai",
     "31.203500", "121.590400", "SH-PD-ZJ", "Wang Lei", "+86 21 5080 1234"),
    ("OPERATOR-A", "SHA-XJH-HUB", "Xujiahui Metro Hub Garage", "1111 Zhaojiabang Road, Xuhui District, Shanghai",
     "31.192900", "121.437700", "SH-XH-XJH", "Li Na", "+86 21 6468 5678"),
    ("OPERATOR-A", "SHA-JA-TMP", "Jing'an Temple Garage", "1686 Nanjing West Road, Jing'an District, Shanghai",
     "31.223000", "121.445600", "SH-JA-NJW", "Zhang Wei", "+86 21 6248 9012"),
    ("OPERATOR-B", "SHB-LJZ-IFC", "Lujiazui IFC Mall Garage", "8 Century Avenue, Pudong New Area, Shanghai",
     "31.236900", "121.502500", "SH-PD-LJZ", "Chen Jing", "+86 21 2020 3456"),
    ("OPERATOR-B", "SHB-XJH-GW", "Xujiahui Grand Gateway Garage", "1 Hongqiao Road, Xuhui District, Shanghai",
     "31.195500", "121.437000", "SH-XH-XJH", "Zhou Min", "+86 21 6407 7890"),
]

# code, station, kind, rated kW, accuracy class, status, public, vendor, model
PILES = [
    ("SHA-ZJ-AC01", "SHA-ZJ-PR", "ac", "7.0", 2, "active", True, "TELD", "TQ-AC7"),
    # Dedicated: the park's depot pile for a tenant company's fleet, so no operating subsidy.
    ("SHA-ZJ-AC02", "SHA-ZJ-PR", "ac", "7.0", 2, "active", False, "TELD", "TQ-AC7"),
    ("SHA-ZJ-DC01", "SHA-ZJ-PR", "dc", "120.0", 1, "active", True, "XJ Electric", "XJ-DC120"),
    ("SHA-XJH-DC01", "SHA-XJH-HUB", "dc", "60.0", 1, "out_of_service", True, "XJ Electric", "XJ-DC60"),
    ("SHA-XJH-AC01", "SHA-XJH-HUB", "ac", "11.0", 2, "planned", True, "Star Charge", "SC-AC11"),
    ("SHA-JA-DC01", "SHA-JA-TMP", "dc", "160.0", 1, "active", True, "Star Charge", "SC-DC160"),
    ("SHB-LJZ-DC01", "SHB-LJZ-IFC", "dc", "120.0", 1, "active", True, "TELD", "TQ-DC120"),
    ("SHB-LJZ-AC01", "SHB-LJZ-IFC", "ac", "7.0", 2, "active", True, "Star Charge", "SC-AC7"),
    ("SHB-XJH-DC01", "SHB-XJH-GW", "dc", "60.0", 1, "active", True, "XJ Electric", "XJ-DC60"),
    ("SHB-XJH-AC01", "SHB-XJH-GW", "ac", "11.0", 2, "active", True, "TELD", "TQ-AC11"),
]

# serial, model, manufacturer, certificate number, days until expiry
TEST_BOXES = [
    ("TB-SIMT-0001", "EVT-3000 DC", "Hangzhou Kelin", "SIMT-CAL-2026-0117", 300),
    ("TB-SIMT-0002", "EVT-1000 AC", "Hangzhou Kelin", "SIMT-CAL-2026-0042", 20),
]


def wait_for_commits(submissions: list, timeout_s: float = 180.0) -> None:
    """Poll this node's submissions until each is committed; the node's worker commits them."""
    ids = [s.tx_id for s in submissions]
    deadline = time.monotonic() + timeout_s
    while Submission.objects.filter(tx_id__in=ids, status=TxStatus.PENDING).exists():
        if time.monotonic() > deadline:
            raise CommandError(f"{len(ids)} transactions not committed within {timeout_s:.0f} s: is the worker running?")
        time.sleep(0.3)
    rejected = list(Submission.objects.filter(tx_id__in=ids, status=TxStatus.REJECTED).values_list("type", "reason"))
    if rejected:
        raise CommandError(f"rejected: {rejected}")


class Command(BaseCommand):
    stealth_options = ("waiter",)  # tests commit in-process instead of waiting for a worker
    help = "Adds this node's demo people and its institution's demo registry (as transactions) and prints the logins."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each commit")
        parser.add_argument("--no-registry", action="store_true", help="people only")

    def handle(self, *args, timeout=180.0, no_registry=False, waiter=None, **options):
        if not node.configured():
            raise CommandError("this node has no consortium definition: run it on a node of the local consortium")
        node.announce_consortium()
        self.devices_dir = Path(settings.NODE_DIR) / "devices"
        self.devices_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.timeout = timeout
        self.waiter = waiter or (lambda subs: wait_for_commits(subs, timeout))
        admin = self._admin()
        signs_for = [m.code for m in node.consortium().members if node.signs_for(m.code)]
        for username, code, role in USERS:
            if code in signs_for:
                self._user(admin, username, code, role)
        if not no_registry:
            for step in (self._grid_areas, self._stations, self._piles, self._test_boxes):
                self._commit([s for s in step(admin, signs_for) if s is not None])
        self._print_logins(signs_for)

    def _wait_until(self, condition, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not condition():
            if time.monotonic() > deadline:
                raise CommandError(f"this node does not have {what} after {self.timeout:.0f} s")
            time.sleep(0.5)

    def _commit(self, submissions: list) -> None:
        if submissions:
            self.stdout.write(f"waiting for {len(submissions)} transactions to commit...")
            self.waiter(submissions)

    # --- people ---------------------------------------------------------------------------------
    def _admin(self) -> User:
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser("admin", "admin@pilechain.local", DEMO_PASSWORD)
        return admin

    def _user(self, admin, username, code, role) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                actor=admin, username=username, institution=Institution.objects.get(code=code), staff_role=role
            )
        # Managers may use the (restricted) admin; every demo account gets the printed password.
        user.is_staff = role == StaffRole.MANAGER
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["is_staff", "password"])
        return user

    # --- registry -------------------------------------------------------------------------------
    def _grid_areas(self, admin, signs_for):
        if "GRID" not in signs_for:
            return []
        return [
            services.grid_area_create(actor=admin, owner="GRID", code=code, name=name, feeder_name=feeder,
                                      transformer_name=transformer, capacity_kw=capacity)
            for code, name, feeder, transformer, capacity in GRID_AREAS
            if not GridArea.objects.filter(code=code).exists()
        ]

    def _stations(self, admin, signs_for):
        mine = [row for row in STATIONS if row[0] in signs_for]
        if not mine:
            return []
        # The grid company's node sent the areas; this node must have applied them.
        self._wait_until(lambda: GridArea.objects.filter(code__in=[a[0] for a in GRID_AREAS]).count() == len(GRID_AREAS),
                         "the demo grid areas (seed the GRID node first)")
        return [
            services.station_create(
                actor=admin, operator=operator, code=code, name=name, address=address, latitude=Decimal(lat),
                longitude=Decimal(lon), grid_area=area, contact_name=contact, contact_phone=phone,
            )
            for operator, code, name, address, lat, lon, area, contact, phone in mine
            if not Station.objects.filter(code=code).exists()
        ]

    def _piles(self, admin, signs_for):
        operator_of = {row[1]: row[0] for row in STATIONS}
        commissioned = date(2025, 6, 1)
        sent = []
        for index, (code, station, kind, power, accuracy, status, public, vendor, model) in enumerate(PILES):
            if operator_of[station] not in signs_for or Pile.objects.filter(code=code).exists():
                continue
            plugs = [(1, "gbt_ac")] if kind == "ac" else [(1, "gbt_dc"), (2, "gbt_dc")]
            sent.append(services.pile_register(
                actor=admin, station=station, code=code, kind=kind, rated_power_kw=Decimal(power),
                accuracy_class=accuracy, status=status, public=public,
                commissioned_on=None if status == "planned" else commissioned + timedelta(days=7 * index),
                vendor=vendor, model_name=model, serial_number=f"{model}-{2025000 + index}",
                firmware_version="1.6.3" if kind == "ac" else "2.4.0",
                connectors=[{"connector_id": n, "standard": standard} for n, standard in plugs],
                keys=[self._key(f"{code}.device", ED25519, "device"), self._key(f"{code}.meter", P256, "meter")],
            ))
        return sent

    def _test_boxes(self, admin, signs_for):
        if "METROLOGY" not in signs_for:
            return []
        today = timezone.localdate()
        return [
            services.testbox_register(
                actor=admin, owner="METROLOGY", serial=serial, model_name=model, manufacturer=manufacturer,
                certificate_no=certificate, certificate_expires_on=today + timedelta(days=days),
                keys=[self._key(f"{serial}.device", ED25519, "device")],
            )
            for serial, model, manufacturer, certificate, days in TEST_BOXES
            if not FieldTestBox.objects.filter(serial=serial).exists()
        ]

    def _key(self, name: str, kind: str, purpose: str) -> dict:
        """A demo device's key: its private half stays in var/<node>/devices/, the public half is sent."""
        path = self.devices_dir / f"{name}.pem"
        if path.exists():
            signing_key = SigningKey.from_pem(path.read_bytes())
        else:
            signing_key = SigningKey.generate(kind)
            # Created 0600 from the start: the key never exists on disk with wider permissions.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(signing_key.to_pem())
        return {"public_key": signing_key.public_key.hex, "kind": kind, "purpose": purpose, "label": f"demo {name}"}

    def _print_logins(self, signs_for) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo data of {', '.join(signs_for)} ready on node {settings.NODE_CODE}."))
        self.stdout.write(f"Device private keys: {self.devices_dir}")
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        self.stdout.write(f"  {'admin':<16} platform administrator (superuser, no institution)")
        for username, code, role in USERS:
            if code in signs_for:
                self.stdout.write(f"  {username:<16} {code:<11} {role}")
