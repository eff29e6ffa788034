"""Benchmark: a month of charging sessions through settlement's contract path, then closing and claims.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_settlement REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/settlement.py [--piles 10000] [--per-day 10] [--days 30]

Makes a scratch database (dropped and recreated: the name must start with "bench"), a consortium of
one operator node holding the members' keys (as the tests do), registers AC piles of 7 kW through the
registry's services and files a passing verification for each through the calibration contract, and
publishes a tariff and a subsidy policy. Then, in this one process, without consensus:

- sessions: for every pile, `--per-day` one-hour sessions a day for `--days` days of March 2030, each
  through the same functions the ledger calls when it applies a block — the `settlement.session_open`
  and `settlement.session_close` contracts (which add the session to the totals), each inside its own
  savepoint, 1000 transactions per database transaction as in a block; one session in 97 draws more
  than the rated power and is held;
- close: the `settlement.period_close` contract for the area (one statement per operator);
- claims: the `subsidy.claim_submit` contract for every pile at once;
- peak memory: the process's maximum resident set size.

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._scratch_db import ProcessEnv, bench_database_name, recreate_database  # noqa: E402
CN = ZoneInfo("Asia/Shanghai")
BATCH = 1000



def setup(piles: int) -> list[str]:
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from ledger.runtime import node
    from tests.conftest import INSTITUTIONS, signing_key
    from tests.utils.ledger import commit_all, configure_node

    configure_node(settings=settings, monkeypatch=ProcessEnv(), directory=Path(tempfile.mkdtemp()),
                   members=INSTITUTIONS, me="OP-A")
    node.announce_consortium()
    from calibration import services as calibration_services
    from ledger.services import node_submit
    from registry import services
    from registry.models import FieldTestBox, User
    from tests.calibration.helpers import ALL_OK, box_record

    def at(*args):
        return dt.datetime(*args, tzinfo=CN)

    admin = User.objects.create_superuser("bench-admin", "bench@example.org", "bench-password-1")
    services.grid_area_create(actor=admin, owner="GRID-1", code="AREA-1", name="Area", capacity_kw=Decimal("1000000"))
    commit_all(at=at(2030, 1, 1))
    services.station_create(actor=admin, operator="OP-A", code="ST-A", name="Station", address="Somewhere",
                            latitude=Decimal("31.2"), longitude=Decimal("121.4"), grid_area="AREA-1")
    services.testbox_register(actor=admin, owner="METRO", serial="TB-1", model_name="EVT-3000", certificate_no="C-1",
                              certificate_expires_on=dt.date(2031, 12, 31))
    commit_all(at=at(2030, 1, 1))
    services.device_key_add(actor=admin, test_box=FieldTestBox.objects.get(serial="TB-1"),
                            public_key=signing_key(3).public_key.hex, kind="ed25519")
    commit_all(at=at(2030, 1, 1))
    codes = []
    for i in range(piles):
        code = f"BENCH-{i:05d}"
        services.pile_register(actor=admin, station="ST-A", code=code, kind="ac", rated_power_kw=Decimal("7"),
                               accuracy_class=2, status="active", commissioned_on=dt.date(2025, 1, 1),
                               connectors=[{"connector_id": 1, "standard": "gbt_ac"}])
        codes.append(code)
        if i % 200 == 199:
            commit_all(at=at(2030, 1, 2))
    commit_all(at=at(2030, 1, 2))
    filed = at(2030, 2, 20, 12)
    for i, code in enumerate(codes):
        record = box_record(sequence=i + 1, pile=code, timestamp_ms=int(filed.timestamp() * 1000))
        node_submit(type="calibration.record_file", check=False, institution="METRO", payload=(
            calibration_services.filing_payload(record=record, kind="first", observations=ALL_OK, inspector="bench")))
        if i % 200 == 199:
            commit_all(at=filed)
    commit_all(at=filed)
    from settlement import billing
    from subsidy import services as subsidy_services

    billing.tariff_publish(_manager("GRID-1"), area="AREA-1",
                           valid_from=dt.date(2030, 1, 1), windows=[
                               {"from": "00:00", "to": "08:00", "band": "valley"},
                               {"from": "08:00", "to": "10:00", "band": "flat"},
                               {"from": "10:00", "to": "15:00", "band": "peak"},
                               {"from": "15:00", "to": "18:00", "band": "flat"},
                               {"from": "18:00", "to": "21:00", "band": "peak"},
                               {"from": "21:00", "to": "24:00", "band": "flat"}],
                           prices={"peak": "1.08200", "flat": "0.67400", "valley": "0.31600"})
    subsidy_services.policy_publish(_manager("REG"), valid_from="2030-01", per_kwh_cny="0.2000",
                                    construction_per_kw_cny="100.00", min_availability="0.900000",
                                    cap_per_pile_year_cny="5000.00", cap_per_operator_year_cny="100000000.00")
    commit_all(at=at(2030, 2, 21))
    return codes


def _manager(code: str):
    from registry.models import Institution, User

    user = User.objects.filter(username=f"bench-{code}").first()
    return user or User.objects.create_user(f"bench-{code}", password="bench-password-1",
                                            institution=Institution.objects.get(code=code), staff_role="manager")


class Chain:
    """Calls contracts the way ledger.execution does for one transaction, minus consensus and hashing."""

    def __init__(self, start: dt.datetime):
        self.height = 10_000
        self.time = start
        self.n = 0

    def run(self, type_: str, payload: dict, *, signer: str, role: str):
        from django.db import transaction

        from ledger.contracts import contracts
        from ledger.execution import ContractContext

        self.n += 1
        tx = SimpleNamespace(id=f"{self.n:064x}", type=type_, payload=payload, signer_kind="node", signer_id=signer,
                             signer=f"node:{signer}")
        header = SimpleNamespace(height=self.height, timestamp_ms=int(self.time.timestamp() * 1000))
        ctx = ContractContext(tx=tx, header=header, index=0, signer_role=role)
        with transaction.atomic():
            contracts.get(type_).handler(ctx, tx)
        return ctx


def sessions(codes: list[str], per_day: int, days: int) -> tuple[int, float]:
    from django.db import transaction

    from settlement.identifiers import session_uid

    chain = Chain(dt.datetime(2030, 3, 1, tzinfo=CN))
    count = 0
    start = time.perf_counter()
    gap = 24 // per_day
    for day in range(days):
        pending = 0
        block = transaction.atomic()
        block.__enter__()
        try:
            for slot in range(per_day):
                for i, code in enumerate(codes):
                    begin = dt.datetime(2030, 3, 1 + day, tzinfo=CN) + dt.timedelta(hours=slot * gap, minutes=i % 60)
                    stop = begin + dt.timedelta(hours=1)
                    wh = 9000 if (count % 97 == 0) else 3000 + (i * 7 + day * 3 + slot) % 3000
                    started = begin.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
                    tid = f"{day}-{slot}"
                    chain.run("settlement.session_open", {
                        "pile": code, "connector_id": 1, "transaction_id": tid, "id_tag": "", "protocol": "ocpp1.6",
                        "started_at": started, "meter_start_wh": 0}, signer="OP-A", role="operator")
                    chain.run("settlement.session_close", {
                        "pile": code, "session": str(session_uid(code, tid, started)),
                        "stopped_at": stop.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds"),
                        "meter_stop_wh": wh, "stop_reason": "Local", "signed_data": []}, signer="OP-A", role="operator")
                    count += 1
                    pending += 1
                    if pending >= BATCH:
                        block.__exit__(None, None, None)
                        block = transaction.atomic()
                        block.__enter__()
                        pending = 0
                        chain.height += 1
        finally:
            block.__exit__(None, None, None)
        print(f"  day {day + 1}: {count} sessions, {count / (time.perf_counter() - start):.0f}/s", flush=True)
    return count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--piles", type=int, default=10000)
    parser.add_argument("--per-day", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    name = bench_database_name(required=False)
    if name:
        recreate_database(name)
    else:
        os.environ.setdefault("PILECHAIN_VAR_DIR", tempfile.mkdtemp(prefix="bench-settlement-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    t = time.perf_counter()
    codes = setup(args.piles)
    print(f"setup: {len(codes)} piles registered and verified through the ledger in {time.perf_counter() - t:.1f} s")

    count, elapsed = sessions(codes, args.per_day, args.days)
    per_s = count / elapsed
    print(f"sessions: {count} through session_open + session_close (with the totals) in {elapsed:.1f} s")

    from django.db import transaction

    from settlement.models import EnergyTotal, Statement

    chain = Chain(dt.datetime(2030, 4, 2, tzinfo=CN))
    t = time.perf_counter()
    with transaction.atomic():
        chain.run("settlement.period_close", {"area": "AREA-1", "period": "2030-03"}, signer="GRID-1", role="grid")
    close_s = time.perf_counter() - t
    statement = Statement.objects.get()
    print(f"close: {EnergyTotal.objects.filter(period='2030-03').count()} total rows -> statement of "
          f"{statement.items.count()} items, {statement.energy_wh} Wh counted, {statement.excluded_wh} Wh held, "
          f"{statement.tariff_amount_cny} CNY at the tariff, in {close_s:.2f} s")

    from subsidy.models import Claim

    t = time.perf_counter()
    with transaction.atomic():
        chain.run("subsidy.claim_submit", {"period": "2030-03", "piles": [
            {"pile": code, "availability": "0.990000", "up_minutes": "44000.00"} for code in codes]},
            signer="OP-A", role="operator")
    claims_s = time.perf_counter() - t
    claim = Claim.objects.get()
    print(f"claims: {claim.lines.count()} lines, {claim.eligible_cny} CNY eligible, in {claims_s:.2f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"piles={len(codes)} sessions={count} sessions_per_s={per_s:.0f} close_seconds={close_s:.2f} "
          f"claims_seconds={claims_s:.2f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
