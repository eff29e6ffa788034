"""Benchmark: telemetry ingestion, anchoring, proofs and queries on one node's database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_monitoring REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/monitoring.py [--piles 200] [--seconds 20]

Makes a scratch database (dropped and recreated: the name must start with "bench"), a consortium of
one operator node holding the members' keys (as the tests do), and registers the piles through the
registry's services and the ledger. Then, in this one process:

- ingestion: monitoring.ingest.record_meter_values, 10 samples per call (as one MeterValues message
  carries at most), round-robin over the piles, for --seconds; readings counted in the database;
- anchoring: every reading anchored (Merkle tree, ledger.anchor transaction) and the block applied;
- proof: the time to build a reading's proof from a full anchor batch;
- query: an hourly aggregate over a day of one pile, and a 500-row keyset page.

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._scratch_db import become_operator_node, bench_database_name, recreate_database  # noqa: E402



def setup(piles: int):
    become_operator_node()
    from tests.utils.ledger import commit_all
    from registry import services
    from registry.models import User

    admin = User.objects.create_superuser("bench-admin", "bench@example.org", "bench-password-1")
    services.grid_area_create(actor=admin, owner="GRID-1", code="AREA-1", name="Area", capacity_kw=Decimal("100000"))
    commit_all()
    services.station_create(actor=admin, operator="OP-A", code="ST-A", name="Station", address="Somewhere",
                            latitude=Decimal("31.2"), longitude=Decimal("121.4"), grid_area="AREA-1")
    commit_all()
    codes = []
    for i in range(piles):
        code = f"BENCH-{i:05d}"
        services.pile_register(actor=admin, station="ST-A", code=code, kind="dc", rated_power_kw=Decimal("120"),
                               accuracy_class=1, status="active", commissioned_on=dt.date(2025, 1, 1),
                               connectors=[{"connector_id": 1, "standard": "gbt_dc"}])
        codes.append(code)
        if i % 100 == 99:
            commit_all()
    commit_all()
    return codes


def ingest(codes: list[str], seconds: float, per_call: int = 1) -> tuple[int, float]:
    """MeterValues messages of 10 samples, one per call (record_meter_values) or `per_call` at once
    (record_meter_values_many, as a gateway that buffers a few milliseconds would)."""
    from monitoring.ingest import record_meter_values, record_meter_values_many

    buffer = []
    start = time.perf_counter()
    base = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    energy = {code: Decimal(0) for code in codes}
    calls = 0
    while time.perf_counter() - start < seconds:
        code = codes[calls % len(codes)]
        ts = base + dt.timedelta(seconds=calls // len(codes) * 10)
        energy[code] += Decimal("27.5")
        samples = [
            {"timestamp": ts, "measurand": "Energy.Active.Import.Register", "value": energy[code], "unit": "Wh",
             "phase": None, "context": "Sample.Periodic"},
            {"timestamp": ts, "measurand": "Power.Active.Import", "value": Decimal("9.9"), "unit": "kW",
             "phase": None, "context": "Sample.Periodic"},
            {"timestamp": ts, "measurand": "Current.Import", "value": Decimal("24.1"), "unit": "A",
             "phase": None, "context": "Sample.Periodic"},
        ] + [
            {"timestamp": ts, "measurand": m, "value": Decimal(v), "unit": u, "phase": p, "context": "Sample.Periodic"}
            for m, v, u, p in (("Voltage", "229.1", "V", "L1-N"), ("Voltage", "230.2", "V", "L2-N"),
                               ("Voltage", "231.3", "V", "L3-N"), ("Current.Import", "8.1", "A", "L1"),
                               ("Current.Import", "8.0", "A", "L2"), ("Current.Import", "8.0", "A", "L3"),
                               ("Voltage", "230.0", "V", None))
        ]
        calls += 1
        if per_call == 1:
            record_meter_values(pile_code=code, connector_id=1, samples=samples)
            continue
        buffer.append({"pile_code": code, "connector_id": 1, "samples": samples})
        if len(buffer) == per_call:
            record_meter_values_many(buffer)
            buffer = []
    if buffer:
        record_meter_values_many(buffer)
    return calls, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--piles", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--buffer", type=int, default=50, help="messages per record_meter_values_many call")
    args = parser.parse_args()
    name = bench_database_name(required=True)
    recreate_database(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    t = time.perf_counter()
    codes = setup(args.piles)
    print(f"setup: {len(codes)} piles registered through the ledger in {time.perf_counter() - t:.1f} s")

    from monitoring.models import Reading

    calls, elapsed = ingest(codes, args.seconds / 2)
    single = Reading.objects.count()
    single_per_s = single / elapsed
    print(f"ingestion, one message per call: {calls} MeterValues, {single} readings counted in the database"
          f" in {elapsed:.1f} s = {single_per_s:.0f} readings/s")
    calls, elapsed = ingest(codes, args.seconds / 2, per_call=args.buffer)
    stored = Reading.objects.count()
    readings_per_s = (stored - single) / elapsed
    print(f"ingestion, {args.buffer} messages per call: {calls} MeterValues, {stored - single} readings counted"
          f" in {elapsed:.1f} s = {readings_per_s:.0f} readings/s")

    from monitoring.services.anchoring import anchor_all
    from tests.utils.ledger import commit_pending

    t = time.perf_counter()
    batches = anchor_all()
    commit_pending()
    anchor_s = time.perf_counter() - t
    anchored = Reading.objects.filter(batch__isnull=False).count()
    print(f"anchoring: {anchored} readings in {len(batches)} batches, committed, in {anchor_s:.2f} s"
          f" = {anchored / anchor_s:.0f} readings/s")

    from monitoring.selectors.anchoring import reading_proof

    reading = Reading.objects.select_related("pile", "batch").order_by("id")[stored // 2]
    t = time.perf_counter()
    proof = reading_proof(reading=reading)
    proof_ms = (time.perf_counter() - t) * 1000
    print(f"proof: batch of {proof['tree_size']} leaves, {len(proof['proof'])} hashes, built in {proof_ms:.0f} ms")

    from monitoring.selectors import telemetry
    from registry.models import User

    admin = User.objects.get(username="bench-admin")
    first = Reading.objects.order_by("ts").first().ts
    query = telemetry.SeriesQuery(pile=codes[0], measurand="Power.Active.Import", start=first,
                                  end=first + dt.timedelta(days=1))
    t = time.perf_counter()
    telemetry.aggregate(user=admin, query=query, interval="1h")
    aggregate_ms = (time.perf_counter() - t) * 1000
    query = telemetry.SeriesQuery(pile=codes[0], measurand="Voltage", start=first, end=first + dt.timedelta(days=1),
                                  phase="L1-N")
    t = time.perf_counter()
    telemetry.readings_page(user=admin, query=query, limit=500)
    page_ms = (time.perf_counter() - t) * 1000
    print(f"queries: hourly aggregate over a day {aggregate_ms:.1f} ms, 500-row keyset page {page_ms:.1f} ms")
    print(f"piles={len(codes)} readings={stored} single_readings_per_s={single_per_s:.0f} "
          f"readings_per_s={readings_per_s:.0f} anchor_readings_per_s="
          f"{anchored / anchor_s:.0f} proof_ms={proof_ms:.0f} aggregate_ms={aggregate_ms:.1f} page_ms={page_ms:.1f}")


if __name__ == "__main__":
    main()
