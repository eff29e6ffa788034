"""Benchmark: a month of charging sessions through the ledger's contract path, then closing and claims.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_settlement REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/settlement.py [--piles 10000] [--per-day 10] [--days 30]

Makes a scratch database (dropped and recreated: the name must start with "bench"; without
DATABASE_URL a SQLite file in a temporary folder), a consortium of one operator node holding the
members' keys (as the tests do), registers AC piles of 7 kW through the registry's services, files a
passing verification for each through the calibration contract, publishes a tariff and a subsidy
policy, and commits a daily availability report for every pile. Then, in this one process, without
consensus:

- sessions: for every pile, `--per-day` one-hour sessions a day for `--days` days of March 2030. Each
  session is a `settlement.session_open` and a `settlement.session_close` transaction, in blocks of
  1000 transactions (the opens of a time slot, then its closes), applied by the function the ledger
  applies a block with (`ledger.execution.run_contracts`: signer checks, the contracts, in runs), with
  the state hashing of every write (write-set hash and MuHash of the rows), one database transaction
  per block. Not timed: building the Transaction objects (a replica receives them built) and a
  VACUUM (ANALYZE) of the two busy tables every 100 blocks, which autovacuum would do beside the node
  (it is off on this machine's server). Not run:
  consensus, signature checks of the transactions (the replica's), storing blocks and receipts. One
  session in 97 draws more than the rated power and is held. Meter values are not OCMF-signed.
- close: the `settlement.period_close` contract for the area (one statement per operator);
- claims: the `subsidy.claim_submit` contract for every pile at once;
- peak memory: the process's maximum resident set size, in MB.

The figures include a bound measured in the same run: `bound_sessions_per_s`, the same sessions
through the state hashing alone (encoding and hashing the rows the contracts write, no database).
The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._chain import Chain  # noqa: E402
from bench._scratch_db import become_operator_node, bench_database_name, recreate_database  # noqa: E402

CN = ZoneInfo("Asia/Shanghai")
BLOCK = 1000
VACUUM_EVERY = 100  # blocks


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CN)


def setup(piles: int) -> list[str]:
    become_operator_node()
    from tests.conftest import signing_key
    from tests.utils.ledger import commit_all
    from calibration import services as calibration_services
    from ledger.services import node_submit
    from registry import services
    from registry.models import FieldTestBox, User
    from tests.calibration.helpers import ALL_OK, box_record

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
        if i % 500 == 499:
            commit_all(at=at(2030, 1, 2))
    commit_all(at=at(2030, 1, 2))
    filed = at(2030, 2, 20, 12)
    for i, code in enumerate(codes):
        record = box_record(sequence=i + 1, pile=code, timestamp_ms=int(filed.timestamp() * 1000))
        node_submit(type="calibration.record_file", check=False, institution="METRO", payload=(
            calibration_services.filing_payload(record=record, kind="first", observations=ALL_OK, inspector="bench")))
        if i % 500 == 499:
            commit_all(at=filed)
    commit_all(at=filed)
    from settlement.services import billing
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
    report_availability(codes)
    return codes


def report_availability(codes: list[str], days: int = 31) -> None:
    """Every pile up the whole day, for every day of March (monitoring's daily reports)."""
    from ledger.services import node_submit
    from tests.utils.ledger import commit_all

    for day in range(1, days + 1):
        for start in range(0, len(codes), 1000):
            node_submit(type="monitoring.availability_report", institution="OP-A", check=False, payload={
                "day": dt.date(2030, 3, day).isoformat(),
                "piles": [{"pile": code, "connectors": 1, "seconds": 86400, "up_seconds": 86400,
                           "down_seconds": 0, "excused_seconds": 0, "unknown_seconds": 0, "root": "",
                           "events": 0} for code in codes[start:start + 1000]]})
        commit_all(at=at(2030, 3, day) + dt.timedelta(days=1, minutes=5))


def _manager(code: str):
    from registry.models import Institution, User

    user = User.objects.filter(username=f"bench-{code}").first()
    return user or User.objects.create_user(f"bench-{code}", password="bench-password-1",
                                            institution=Institution.objects.get(code=code), staff_role="manager")


def session_blocks(codes: list[str], per_day: int, days: int):
    """(block time, [(type, payload)]) in blocks of BLOCK transactions: a slot's opens, then its closes."""
    from settlement.identifiers import session_uid

    gap = 24 // per_day
    count = 0
    for day in range(days):
        for slot in range(per_day):
            opens, closes = [], []
            last_stop = None
            for i, code in enumerate(codes):
                begin = at(2030, 3, 1 + day) + dt.timedelta(hours=slot * gap, minutes=i % 60)
                stop = begin + dt.timedelta(hours=1)
                wh = 9000 if (count % 97 == 0) else 3000 + (i * 7 + day * 3 + slot) % 3000
                count += 1
                started = begin.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
                tid = f"{day}-{slot}"
                opens.append(("settlement.session_open", {
                    "pile": code, "connector_id": 1, "transaction_id": tid, "id_tag": "", "protocol": "ocpp1.6",
                    "started_at": started, "meter_start_wh": 0}))
                closes.append(("settlement.session_close", {
                    "pile": code, "session": str(session_uid(code, tid, started)),
                    "stopped_at": stop.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds"),
                    "meter_stop_wh": wh, "stop_reason": "Local", "signed_data": []}))
                last_stop = stop
            first_begin = at(2030, 3, 1 + day) + dt.timedelta(hours=slot * gap)
            for txs, when in ((opens, first_begin + dt.timedelta(hours=1)), (closes, last_stop + dt.timedelta(minutes=1))):
                for start in range(0, len(txs), BLOCK):
                    yield when, txs[start:start + BLOCK]


def vacuum() -> None:
    """What autovacuum does on a node's server (it is off on this machine's PostgreSQL): clear the
    dead row versions every closing and every total leaves, and refresh the planner's statistics.
    Not timed: autovacuum runs in its own worker processes, beside the one applying blocks."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("settlement_chargingsession", "settlement_energytotal"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")


def sessions(codes: list[str], per_day: int, days: int) -> tuple[int, float, Chain]:
    from ledger.runtime import node

    chain = Chain()
    elapsed = 0.0
    count = 0
    started = time.perf_counter()
    from django.db import connection

    for n, (when, items) in enumerate(session_blocks(codes, per_day, days)):
        if n % VACUUM_EVERY == VACUUM_EVERY - 1:
            vacuum()
        txs = chain.transactions(items, signer="OP-A")
        if os.environ.get("BENCH_SQL") and n in (6, 7):
            connection.force_debug_cursor = True
            connection.queries_log.clear()
        t = time.perf_counter()
        chain.apply(txs, when=when, role_of=node.role_of)
        elapsed += time.perf_counter() - t
        if os.environ.get("BENCH_SQL") and n in (6, 7):
            connection.force_debug_cursor = False
            for q in sorted(connection.queries, key=lambda q: -float(q["time"]))[:12]:
                print(f"    {q['time']} s  {q['sql'][:150]}", flush=True)
        count += sum(1 for type_, _ in items if type_ == "settlement.session_close")
        if n % 100 == 99:
            print(f"  {count} sessions, {count / elapsed:.0f}/s in the contract path "
                  f"({time.perf_counter() - started:.0f} s in all)", flush=True)
    return count, elapsed, chain


def hashing_bound(codes: list[str], per_day: int) -> float:
    """Sessions per second of the state hashing alone: a sample of real rows encoded and hashed as the
    executor does for each session (the opened row, the closed row before and after, a totals row)."""
    from ledger.execution import fold_writes
    from ledger.state.muhash import MuHash
    from ledger.state.rows import entry_bytes
    from settlement.models import ChargingSession, EnergyTotal

    sample = list(ChargingSession.objects.select_related("pile").order_by("pk")[:2000])
    totals = list(EnergyTotal.objects.select_related("pile").order_by("pk")[:2000])
    rows, writes = MuHash(), hashlib.sha256()
    t = time.perf_counter()
    for session, total in zip(sample, totals * (len(sample) // max(len(totals), 1) + 1)):
        new = entry_bytes(session)
        t_new = entry_bytes(total)
        fold_writes([("save", None, new), ("save", new, new), ("save", t_new, t_new)], rows, writes)
    return len(sample) / (time.perf_counter() - t)


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
    os.environ.setdefault("DEBUG", "0")  # as a node runs: no query log
    t = time.perf_counter()
    codes = setup(args.piles)
    print(f"setup: {len(codes)} piles registered, verified and reported available through the ledger "
          f"in {time.perf_counter() - t:.1f} s", flush=True)

    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        count, elapsed, chain = sessions(codes, args.per_day, args.days)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
    else:
        count, elapsed, chain = sessions(codes, args.per_day, args.days)
    per_s = count / elapsed
    print(f"sessions: {count} ({chain.applied} transactions applied, {chain.rejected} rejected) in {elapsed:.1f} s "
          f"of contract path", flush=True)
    bound = hashing_bound(codes, args.per_day)

    from ledger.runtime import node
    from settlement.models import EnergyTotal, Statement

    t = time.perf_counter()
    chain.apply(chain.transactions([("settlement.period_close", {"area": "AREA-1", "period": "2030-03"})], signer="GRID-1"),
                when=at(2030, 4, 2), role_of=node.role_of)
    close_s = time.perf_counter() - t
    statement = Statement.objects.get()
    print(f"close: {EnergyTotal.objects.filter(period='2030-03').count()} total rows -> statement of "
          f"{statement.items.count()} items, {statement.energy_wh} Wh counted, {statement.excluded_wh} Wh held, "
          f"{statement.tariff_amount_cny} CNY at the tariff, in {close_s:.2f} s", flush=True)

    from subsidy.models import Claim

    t = time.perf_counter()
    chain.apply(chain.transactions([("subsidy.claim_submit", {"period": "2030-03", "piles": codes})], signer="OP-A"),
                when=at(2030, 4, 2, 1), role_of=node.role_of)
    claims_s = time.perf_counter() - t
    claim = Claim.objects.get()
    held = sum(line.excluded_wh for line in claim.lines.all())
    print(f"claims: {claim.lines.count()} lines, {claim.eligible_cny} CNY eligible, {held} Wh held, "
          f"in {claims_s:.2f} s", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"piles={len(codes)} sessions={count} sessions_per_s={per_s:.0f} bound_sessions_per_s={bound:.0f} "
          f"ratio={per_s / bound:.2f} close_seconds={close_s:.2f} claims_seconds={claims_s:.2f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
