"""`manage.py ledger <action>`: keys, the consortium definition, genesis, status, audit, replay."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledger import node_keys
from ledger.audit import audit_tables
from ledger.consortium import DEFAULT_TIME_ZONE, ROLES, Consortium, ConsortiumError
from ledger.execution import node_state, replay_all
from ledger.runtime import node as this_node
from ledger.runtime.driver import Driver
from ledger.selectors import node_status
from ledger.tasks import peer_sender


# Replica tuning for nodes on one machine or a LAN, in ticks of PILECHAIN_TICK_MS (50 ms by default).
LOCAL_TUNING = {
    "checkpoint_interval": 8,
    "window": 32,
    # Blocks of a few hundred transactions: larger ones make each PRE-PREPARE (and BODY answer) heavy
    # and a slow machine late in validating them. A view change carries headers only, whatever this is.
    "batch_max": 250,
    "batch_wait_ticks": 1,
    "request_timeout_ticks": 160,  # 8 s: a loaded primary is slow, not faulty
    "view_change_timeout_ticks": 80,  # 4 s, doubling per failed attempt
    "timestamp_tolerance_ms": 30_000,
    "fetch_max_blocks": 8,
}


class Command(BaseCommand):
    help = "Ledger administration: keygen, local-consortium, genesis, status, audit, replay, drive."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser("keygen", help="write this node's Ed25519 and X25519 keys (mode 0600)")
        keygen.add_argument("--dir", help="where to write them (default var/<node>/keys)")
        keygen.add_argument("--force", action="store_true", help="replace existing keys")

        local = sub.add_parser("local-consortium", help="keys and a definition for nodes on this machine")
        local.add_argument("--node", action="append", required=True, metavar="CODE:ROLE:PORT[:NAME]",
                           help="one member node, e.g. OPERATOR-A:operator:8001 (repeat, 4 or more)")
        local.add_argument("--chain-id", default="pilechain-local")
        local.add_argument("--host", default="127.0.0.1")
        local.add_argument("--out", default=None, help="definition file (default: the configured one)")
        local.add_argument("--timeouts", default="{}", help="JSON of replica tuning values")
        local.add_argument("--time-zone", default=DEFAULT_TIME_ZONE,
                           help="the consortium's business time zone (local days, settlement periods)")
        local.add_argument("--intervals", default="{}",
                           help='JSON of the agreed intervals, e.g. {"length_s": 900} (docs/intervals.md)')

        genesis = sub.add_parser("genesis", help="show the genesis this definition gives; compare with peers")
        genesis.add_argument("--check-peers", action="store_true")

        sub.add_parser("status", help="this node's ledger status as JSON")
        sub.add_parser("audit", help="recompute the ledger-owned tables' digest and compare with the chain")
        sub.add_parser("replay", help="rebuild the read model from the stored chain")
        drive = sub.add_parser("drive", help="run the drain loop in the foreground (debugging)")
        drive.add_argument("--seconds", type=float, default=3600)

    def handle(self, *args, action, **options):
        getattr(self, "do_" + action.replace("-", "_"))(**options)

    # ------------------------------------------------------------------ actions

    def do_keygen(self, *, dir=None, force=False, **_):
        directory = Path(dir) if dir else None
        try:
            generated = node_keys.generate(directory, overwrite=force)
        except FileExistsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({
            "code": settings.NODE_CODE,
            "signing_key": generated.signing.public_key.hex,
            "encryption_key": generated.encryption.public_hex(),
        }, indent=2))

    def do_local_consortium(self, *, node, chain_id, host, out, timeouts, time_zone, intervals, **_):
        members = []
        var_dir = Path(settings.VAR_DIR)
        for spec in node:
            parts = spec.split(":", 3)
            if len(parts) < 3:
                raise CommandError(f"--node {spec}: expected CODE:ROLE:PORT[:NAME]")
            code, role, port = parts[:3]
            name = parts[3] if len(parts) == 4 else code
            if role not in ROLES:
                raise CommandError(f"--node {spec}: role must be one of {', '.join(ROLES)}")
            key_dir = var_dir / code / "keys"
            try:
                keys = node_keys.load(key_dir)
            except node_keys.MissingKeys:
                keys = node_keys.generate(key_dir)
            members.append({
                "code": code, "name": name, "role": role, "url": f"http://{host}:{int(port)}",
                "signing_key": keys.signing.public_key.hex, "encryption_key": keys.encryption.public_hex(),
            })
        tuning = {**LOCAL_TUNING, **json.loads(timeouts)}
        data = {"chain_id": chain_id, "checkpoint_interval": tuning.pop("checkpoint_interval"), "timeouts": tuning,
                "rules": {"time_zone": time_zone}, "members": members}
        try:
            data["intervals"] = json.loads(intervals)
            Consortium.from_dict(data)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--intervals is not JSON: {exc}") from exc
        except ConsortiumError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(out) if out else this_node.consortium_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
        self.stdout.write(f"wrote {path} with {len(members)} members")

    def do_genesis(self, *, check_peers=False, **_):
        definition = self._consortium()
        mine = {
            "chain_id": definition.chain_id,
            "consortium_digest": definition.digest(),
            "genesis_state_root": this_node.genesis_state_root(definition),
        }
        self.stdout.write(json.dumps(mine, indent=2))
        this_node.announce_consortium()
        if not check_peers:
            return
        differ = []
        for member in definition.members:
            if member.code == settings.NODE_CODE:
                continue
            try:
                theirs = requests.get(member.url + "/ledger/genesis", timeout=5).json()
            except (requests.RequestException, ValueError) as exc:
                self.stdout.write(f"{member.code}: unreachable ({exc.__class__.__name__})")
                continue
            same = all(theirs.get(k) == v for k, v in mine.items())
            self.stdout.write(f"{member.code}: {'same genesis' if same else 'DIFFERENT genesis'}")
            if not same:
                differ.append(member.code)
        if differ:
            raise CommandError(f"genesis differs from {', '.join(differ)}: refusing")

    def do_status(self, **_):
        self.stdout.write(json.dumps(node_status(), indent=2, default=str))

    def do_audit(self, **_):
        result = audit_tables()
        self.stdout.write(json.dumps(result.__dict__, indent=2))
        if not result.ok:
            raise CommandError("the ledger-owned tables differ from what the chain says")

    def do_replay(self, **_):
        self._consortium()
        total = replay_all(role_of=this_node.role_of)
        self.stdout.write(f"replayed {total} blocks; state root {node_state().state_root}")

    def do_drive(self, *, seconds, **_):
        driver = Driver(send=peer_sender())
        if not driver.start():
            raise CommandError("another driver holds the lease, or the node diverged")
        driver.run(max_seconds=seconds)

    def _consortium(self) -> Consortium:
        try:
            return this_node.consortium()
        except this_node.NotConfigured as exc:
            raise CommandError(str(exc)) from exc
