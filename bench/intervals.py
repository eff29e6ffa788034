"""Benchmark: one agreed interval of a large fleet applied by one node through the contract path.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_intervals REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/intervals.py [--piles 10000] [--signed-share 0.25]

Makes a scratch database (dropped and recreated: the name must start with "bench"; without
DATABASE_URL a SQLite file in a temporary folder), a consortium of one operator node holding the
members' keys (as the tests do), and registers `--piles` DC piles of two connectors through the
registry's services; a share of them (`--signed-share`) get a meter key (ECDSA P-256). Then one
interval report for every connector (monitoring.interval_report, in transactions of 2,000
connectors, in one block), where each connector of a signing pile carries its register reading at
the interval's end signed by its meter (an OCMF record, as OCPP 2.0.1's signed clock-aligned data
gives; made by the fleet simulator's signer), is applied by the function the ledger applies a block
with (`ledger.execution.run_contracts`) with the state hashing of every write, in one database
transaction. The first interval of the day makes every connector's day row (its time is printed as
first_apply_s); the figure is the median of the next three, which update them, as every later
interval of the day does.

Figures:
- interval_apply_s: a later interval of the day, applied (the median of three);
- bound_apply_s: the same intervals' signature checks (every signed reading verified against its
  key, keys read once) and state hashing (the entries of every row the contracts wrote, before and
  after, folded into the MuHash and write-set hash) alone, measured in this run (the median);
- bytes_per_pile_day: the database bytes (rows and indexes) of the day rows a pile's connectors
  keep per day, which is what the state grows by (the area load is one row per area and interval,
  open figures are dropped when the correction window closes); the
  canonical state entries' bytes are printed beside it.
The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._chain import Chain  # noqa: E402
from bench._scratch_db import become_operator_node, bench_database_name, recreate_database  # noqa: E402

UTC = dt.timezone.utc
DAY0 = dt.datetime(2030, 3, 1, 0, 0, tzinfo=UTC)
LENGTH = dt.timedelta(minutes=15)
PER_TX = 2000
REPORT = "monitoring.interval_report"
TIMED = 3  # later intervals of the day timed; the figure is their median


def meter_key(code: str):
    """The pile's meter key, derived from its code (so that --reuse finds the same keys again)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.derive_private_key(int.from_bytes(hashlib.sha256(f"bench-meter/{code}".encode()).digest(), "big")
                                 % (2**255), ec.SECP256R1())


def reuse() -> tuple[list[str], dict] | None:
    """The piles of an earlier run's database (--reuse), with the interval rows cleared; None if none."""
    become_operator_node(migrate=False)
    from django.core.management import call_command
    from django.db import connection

    from registry.models import DeviceKey, Pile

    try:
        codes = list(Pile.objects.filter(code__startswith="BENCH-").order_by("code").values_list("code", flat=True))
    except Exception:  # noqa: BLE001 - no such database or table: nothing to reuse
        codes = []
    if not codes:
        connection.close()  # the database is recreated next
        return None
    call_command("migrate", verbosity=0)  # what was added since the earlier run (nothing: a moment)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM monitoring_connectorday; DELETE FROM monitoring_areaload; DELETE FROM monitoring_openreport")
    signed = set(DeviceKey.objects.filter(purpose="meter", pile__code__in=codes).values_list("pile__code", flat=True))
    return codes, {code: meter_key(code) for code in codes if code in signed}


def setup(piles: int, signed_share: float) -> tuple[list[str], dict]:
    """Register the piles; returns their codes and the meter private key of each signing pile."""
    become_operator_node()
    from cryptography.hazmat.primitives import serialization

    from registry import services
    from registry.models import User
    from tests.utils.ledger import commit_all

    admin = User.objects.create_superuser("bench-admin", "bench@example.org", "bench-password-1")
    services.grid_area_create(actor=admin, owner="GRID-1", code="AREA-1", name="Area", capacity_kw=Decimal("2000000"))
    commit_all(at=DAY0 - dt.timedelta(days=30))
    services.station_create(actor=admin, operator="OP-A", code="ST-A", name="Station", address="Somewhere",
                            latitude=Decimal("31.2"), longitude=Decimal("121.4"), grid_area="AREA-1")
    commit_all(at=DAY0 - dt.timedelta(days=30))
    codes = []
    for i in range(piles):
        code = f"BENCH-{i:05d}"
        services.pile_register(actor=admin, station="ST-A", code=code, kind="dc", rated_power_kw=Decimal("120"),
                               accuracy_class=1, status="active", commissioned_on=dt.date(2025, 1, 1),
                               connectors=[{"connector_id": 1, "standard": "gbt_dc"},
                                           {"connector_id": 2, "standard": "gbt_dc"}])
        codes.append(code)
        if i % 500 == 499:
            commit_all(at=DAY0 - dt.timedelta(days=20))
    commit_all(at=DAY0 - dt.timedelta(days=20))
    meters = {}
    every = round(1 / signed_share) if signed_share else 0
    for i, code in enumerate(codes):
        if every and i % every == 0:
            key = meter_key(code)
            pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            services.device_key_add(actor=admin, pile=code, purpose="meter", public_key=pem)
            meters[code] = key
            if len(meters) % 500 == 0:
                commit_all(at=DAY0 - dt.timedelta(days=10))
    commit_all(at=DAY0 - dt.timedelta(days=10))
    return codes, meters


def register(n: int, i: int, connector: int) -> int:
    """A connector's energy register (Wh) at the end of interval n: a few kWh per interval."""
    return sum(3000 + (i * 7 + connector * 13 + k * 11) % 9000 for k in range(n + 1))


def report_items(codes: list[str], meters: dict, n: int) -> list[tuple[str, dict]]:
    """Interval n's reports: every connector of every pile, in transactions of PER_TX connectors."""
    from gateway.simulator.ocmf_signer import signed_register_record

    start, end = DAY0 + n * LENGTH, DAY0 + (n + 1) * LENGTH
    entries = []
    for i, code in enumerate(codes):
        for connector in (1, 2):
            before = register(n - 1, i, connector) if n else 0
            after = register(n, i, connector)
            charging = (i + connector + n) % 3 == 0
            seconds = {"available": 300 if charging else 900, "occupied": 600 if charging else 0, "faulted": 0,
                       "unavailable": 0, "offline": 0, "unknown": 0}
            key = meters.get(code)
            entries.append({
                "pile": code, "connector": connector, "state": "occupied" if charging else "available",
                "seconds": seconds, "register_start_wh": before, "register_end_wh": after,
                "peak_w": 60000 if charging else 0, "authorizations": int(charging), "sessions_started": int(charging),
                "sessions_ended": {"EVDisconnected": 1} if charging else {}, "events": 4,
                "root": hashlib.sha256(f"{code}/{connector}/{n}".encode()).hexdigest(),
                "signed_end": signed_register_record(key, meter_serial=f"M-{code}", pagination=n + 1, at=end, wh=after)
                if key else "",
            })
    return [(REPORT, {"start": start.isoformat(), "connectors": entries[k:k + PER_TX]})
            for k in range(0, len(entries), PER_TX)]


def bound(items, meters: dict, written) -> float:
    """Seconds of the interval's signature checks and state hashing alone."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    import ocmf
    from ocmf.crypto import check_signature, curve_for, load_public_key
    from ledger.execution import fold_writes
    from ledger.state.muhash import MuHash
    from ledger.state.rows import entry_bytes

    curve = curve_for("ECDSA-secp256r1-SHA256")
    keys = {code: load_public_key(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo), curve)
            for code, key in meters.items()}
    records = [(e["pile"], e["signed_end"]) for _, p in items for e in p["connectors"] if e["signed_end"]]
    rows, writes = MuHash(), hashlib.sha256()
    t = time.perf_counter()
    for code, text in records:
        check_signature(ocmf.parse(text), keys[code])
    for row in written:
        new = entry_bytes(row)
        fold_writes([("save", new, new)], rows, writes)
    return time.perf_counter() - t


def state_bytes(piles: int) -> tuple[float, float]:
    """(database bytes, canonical entry bytes) of the day rows per pile and day."""
    from django.db import connection

    from ledger.state.rows import entry_bytes
    from monitoring.models import ConnectorDay

    rows = list(ConnectorDay.objects.select_related("pile"))
    days = len({row.day for row in rows})
    entries = sum(len(entry_bytes(row)) for row in rows)
    if connection.vendor != "postgresql":
        return float("nan"), entries / piles / days
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (FULL) monitoring_connectorday")
        cursor.execute("SELECT pg_total_relation_size('monitoring_connectorday')")
        (size,) = cursor.fetchone()
    return size / piles / days, entries / piles / days


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--piles", type=int, default=10000)
    parser.add_argument("--signed-share", type=float, default=0.25)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the scratch database's piles from an earlier run (PostgreSQL only): no setup")
    args = parser.parse_args()
    name = bench_database_name(required=False)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "0")  # as a node runs: no query log
    t = time.perf_counter()
    found = reuse() if args.reuse and name else None
    if found is None:
        if name:
            recreate_database(name)
        else:
            os.environ.setdefault("PILECHAIN_VAR_DIR", tempfile.mkdtemp(prefix="bench-intervals-"))
        found = setup(args.piles, args.signed_share)
    codes, meters = found
    print(f"setup: {len(codes)} piles of 2 connectors registered, {len(meters)} with a meter key, "
          f"in {time.perf_counter() - t:.1f} s", flush=True)
    from django.db import connection

    from ledger.runtime import node
    from monitoring.models import AreaLoad, ConnectorDay, OpenReport

    chain = Chain()
    first = chain.transactions(report_items(codes, meters, 0), signer="OP-A")
    t = time.perf_counter()
    chain.apply(first, when=DAY0 + LENGTH + dt.timedelta(seconds=20), role_of=node.role_of)
    first_s = time.perf_counter() - t
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("monitoring_connectorday",):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    # The figure is the median of TIMED later intervals of the day (each updates every day row), which
    # a single interval's time scatters around by a few tenths of a second on a shared machine.
    applies, bounds = [], []
    for n in range(1, TIMED + 1):
        items = report_items(codes, meters, n)
        txs = chain.transactions(items, signer="OP-A")
        applied_before, rejected_before = chain.applied, chain.rejected
        when = DAY0 + (n + 1) * LENGTH + dt.timedelta(seconds=20)
        t = time.perf_counter()
        if os.environ.get("BENCH_PROFILE") and n == TIMED:
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()
            chain.apply(txs, when=when, role_of=node.role_of)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        else:
            chain.apply(txs, when=when, role_of=node.role_of)
        applies.append(time.perf_counter() - t)
        connectors = sum(len(p["connectors"]) for _, p in items)
        signed = sum(1 for _, p in items for e in p["connectors"] if e["signed_end"])
        written = [*ConnectorDay.objects.select_related("pile"),
                   *AreaLoad.objects.select_related("area"), *OpenReport.objects.filter(start=DAY0 + n * LENGTH)]
        bounds.append(bound(items, meters, written))
        print(f"interval {n + 1} of the day: {connectors} connectors in {len(txs)} transactions "
              f"({chain.applied - applied_before} applied, {chain.rejected - rejected_before} rejected), "
              f"{signed} signed readings verified, applied in {applies[-1]:.2f} s; bound {bounds[-1]:.2f} s", flush=True)
    apply_s, bound_s = statistics.median(applies), statistics.median(bounds)
    print(f"the day's first interval (makes every day row): {first_s:.2f} s; later intervals, median of {TIMED}: "
          f"{apply_s:.2f} s (each: {', '.join(f'{a:.2f}' for a in applies)})", flush=True)
    db_bytes, entry_bytes = state_bytes(len(codes))
    print(f"state: {ConnectorDay.objects.count()} day rows, "
          f"{AreaLoad.objects.count()} area loads, {OpenReport.objects.count()} open reports; "
          f"{db_bytes:.0f} bytes per pile and day in the database, {entry_bytes:.0f} in state entries", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"piles={len(codes)} connectors={connectors} signed={signed} peak_mb={peak_mb:.0f} first_apply_s={first_s:.2f} "
          f"interval_apply_s={apply_s:.2f} bound_apply_s={bound_s:.2f} ratio={apply_s / bound_s:.2f} "
          f"bytes_per_pile_day={db_bytes:.0f}")


if __name__ == "__main__":
    main()
