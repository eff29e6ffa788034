"""monitoring.availability_report: a day's availability of piles, committed by their operator's node
once the day is over, one row per (pile, day), never a second time.

What the contract can check it checks: the shape and arithmetic of every figure, the day's length in
the local zone, the connectors registered, who operates the piles, that the day is over at the
block's time, and that no more downtime is excused than the grid outages flagged on the ledger cover.
What it cannot check (the status telemetry is on the operator's node) is committed to by `root`, the
Merkle root of the pile's status events of the day, so the operator can be held to them later.
Reads are in bulk (a report covers up to 1,000 piles): one query each for the piles, their
connectors, earlier reports and the outages.
"""

from __future__ import annotations

import re

from django.db.models import Count

from ledger.contracts import NODE, register
from core import localtime
from monitoring.uptime import SECOND, covered, floor_second, merge
from monitoring.models import AvailabilityDay, GridOutage
from registry.models import Connector, Pile

REPORT = "monitoring.availability_report"
MAX_PILES = 1000
PARTS = ("up_seconds", "down_seconds", "excused_seconds", "unknown_seconds")
COUNTS = ("connectors", "seconds", *PARTS, "events")
ENTRY_KEYS = frozenset({"pile", "root", *COUNTS})
MAX_EVENTS = 2**31 - 1
ROOT = re.compile(r"^[0-9a-f]{64}$")


def _entry(ctx, index: int, entry, length: int, day) -> dict:
    if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
        ctx.reject(f"piles[{index}] must have exactly the keys {', '.join(sorted(ENTRY_KEYS))}")
    code = entry["pile"]
    if not isinstance(code, str) or not code:
        ctx.reject(f"piles[{index}].pile must be a pile code")
    for name in COUNTS:
        value = entry[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            ctx.reject(f"{name} of pile {code} must be a non-negative integer")
    if entry["events"] > MAX_EVENTS:
        ctx.reject(f"events of pile {code} must be at most {MAX_EVENTS}")
    total = sum(entry[name] for name in PARTS)
    if total != entry["seconds"]:
        ctx.reject(f"up, down, excused and unknown seconds of pile {code} add up to {total}, not to seconds ({entry['seconds']})")
    expected = entry["connectors"] * length
    if entry["seconds"] != expected:
        ctx.reject(f"seconds of pile {code} must be connectors x {length} (the length of {day}) = {expected}, not {entry['seconds']}")
    root = entry["root"]
    if entry["events"] == 0:
        if root != "":
            ctx.reject(f"root of pile {code} must be empty: no status events")
    elif not isinstance(root, str) or not ROOT.match(root):
        ctx.reject(f"root of pile {code} must be 64 lowercase hex digits")
    return entry


def outage_seconds(*, areas, start, end) -> dict[int, int]:
    """Per grid area id: seconds of [start, end) inside the outages flagged on the ledger, overlapping
    outages merged, times taken down to the second (as monitoring.uptime.compute_seconds does).
    One query."""
    rows: dict[int, list] = {}
    for area_id, starts_at, ends_at in (
        GridOutage.objects.filter(area_id__in=areas, starts_at__lt=end, ends_at__gt=start)
        .order_by("area_id", "starts_at", "uid").values_list("area_id", "starts_at", "ends_at")
    ):
        rows.setdefault(area_id, []).append((floor_second(starts_at), floor_second(ends_at)))
    return {area_id: covered(start, end, merge(spans)) // SECOND for area_id, spans in rows.items()}


@register(REPORT, signer_kinds=(NODE,), roles={"operator"})
def availability_report(ctx, tx):
    """A day's availability of piles (connector-seconds up, down, excused by flagged grid outages,
    unknown; the root of the day's status events), reported by their operator's node."""
    p = tx.payload
    if not isinstance(p, dict) or set(p) != {"day", "piles"}:
        ctx.reject("a report has exactly the keys day, piles")
    day = localtime.parse_day(p["day"])
    if day is None:
        ctx.reject("day must be a date written YYYY-MM-DD")
    tz = localtime.zone()
    start, end = localtime.day_bounds(day, tz)
    length = localtime.day_length_s(day, tz)
    if ctx.block_time < end:
        ctx.reject(f"{day} is not over at this block's time (it ends {end.isoformat()})")
    entries = p["piles"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_PILES:
        ctx.reject(f"piles must be a list of 1 to {MAX_PILES} entries")
    parsed, seen = [], set()
    for index, raw in enumerate(entries):
        entry = _entry(ctx, index, raw, length, day)
        if entry["pile"] in seen:
            ctx.reject(f"pile {entry['pile']} is listed twice")
        seen.add(entry["pile"])
        parsed.append(entry)

    piles = {pile.code: pile for pile in Pile.objects.select_related("station__operator")
             .filter(code__any_of=sorted(seen)).order_by("code")}
    for entry in parsed:
        pile = piles.get(entry["pile"])
        if pile is None:
            ctx.reject(f"unknown pile {entry['pile']}")
        if pile.station.operator.code != ctx.signer_id:
            ctx.reject(f"{ctx.signer_id} does not operate pile {pile.code}")
    ids = sorted(pile.pk for pile in piles.values())
    registered = dict(Connector.objects.filter(pile_id__in=ids).order_by("pile_id").values("pile_id")
                      .annotate(n=Count("id")).values_list("pile_id", "n"))
    earlier = dict(AvailabilityDay.objects.filter(pile_id__in=ids, day=day).order_by("pile_id")
                   .values_list("pile_id", "height"))
    flagged = outage_seconds(areas=sorted({pile.station.grid_area_id for pile in piles.values()}), start=start, end=end)
    for entry in parsed:
        pile = piles[entry["pile"]]
        if pile.pk in earlier:
            ctx.reject(f"pile {pile.code} already has an availability report for {day} (block {earlier[pile.pk]})")
        if entry["connectors"] != registered.get(pile.pk, 0):
            ctx.reject(f"pile {pile.code} has {registered.get(pile.pk, 0)} registered connectors, not {entry['connectors']}")
        limit = entry["connectors"] * flagged.get(pile.station.grid_area_id, 0)
        if entry["excused_seconds"] > limit:
            ctx.reject(f"pile {pile.code} excuses {entry['excused_seconds']} s on {day}; the grid outages flagged in "
                       f"its area cover at most {limit} connector-seconds")

    ctx.bulk_insert([AvailabilityDay(
        pile=piles[entry["pile"]], day=day, connectors=entry["connectors"], seconds=entry["seconds"],
        up_seconds=entry["up_seconds"], down_seconds=entry["down_seconds"],
        excused_seconds=entry["excused_seconds"], unknown_seconds=entry["unknown_seconds"], root=entry["root"],
        events=entry["events"], reported_by=ctx.signer_id, height=ctx.block_height, tx_id=tx.id,
    ) for entry in parsed])
