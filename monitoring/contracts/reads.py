"""Contract-side reads of monitoring's ledger-owned rows that other apps' contracts use: the daily
availability reports of piles, summed over a period, and the uptime of piles from the agreed intervals.

`reported_totals` is what a subsidy claim is judged by: one aggregate query over ledger-owned rows,
no wall clock, no floats, so a contract may call it. The pages and the API read the same sums
through monitoring.selectors.availability.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from core import localtime
from monitoring.intervals.uptime import Uptime, connector_seconds, of_sums
from monitoring.models import AvailabilityDay, ConnectorDay
from monitoring.models.intervals import SECONDS_FIELDS
from registry.models import Connector
from monitoring.uptime import ratio

SUMMED = ("seconds", "up_seconds", "down_seconds", "excused_seconds", "unknown_seconds")


@dataclass(frozen=True)
class Totals:
    """A pile's reported days in a period, summed (connector-seconds)."""

    days: int
    seconds: int
    up_seconds: int
    down_seconds: int
    excused_seconds: int
    unknown_seconds: int

    @property
    def ratio(self) -> Decimal | None:
        return ratio(up=self.up_seconds, seconds=self.seconds, excused=self.excused_seconds)


NO_REPORT = Totals(0, 0, 0, 0, 0, 0)


def sums(rows, key: str, **extra):
    """`rows` (AvailabilityDay) grouped by `key`: the number of days `n` and `sum_<name>` of each summed figure."""
    return (rows.order_by(key).values(key)
            .annotate(n=Count("id"), **{f"sum_{name}": Sum(name) for name in SUMMED}, **extra))


def totals(row) -> Totals:
    """One row of `sums` as Totals."""
    return Totals(row["n"], *(int(row[f"sum_{name}"]) for name in SUMMED))


def interval_uptime(*, piles, start_day: dt.date, end_day: dt.date) -> dict[int, Uptime]:
    """Per pile id (of `piles`, ids): its uptime from the agreed intervals over the local days
    `start_day`..`end_day`, over all its connectors, each counted from the day the pile was
    commissioned: what monitoring.selectors.intervals.uptime answers by pile for a period that is over
    (the same per-connector seconds and sums). Two queries; deterministic, so a contract may call it."""
    tz = localtime.zone()
    ids = sorted(piles)
    seconds: dict[int, int] = {}
    for pile_id, commissioned in (Connector.objects.filter(pile_id__any_of=ids).order_by("pile_id", "connector_id")
                                  .values_list("pile_id", "pile__commissioned_on")):
        seconds[pile_id] = seconds.get(pile_id, 0) + connector_seconds(start_day, end_day, tz=tz, since=commissioned)
    sums = {row["pile_id"]: row for row in (
        ConnectorDay.objects.filter(pile_id__any_of=ids, day__gte=start_day, day__lte=end_day).order_by("pile_id")
        .values("pile_id").annotate(**{name: Sum(name) for name in (*SECONDS_FIELDS, "excluded_s")}))}
    return {pile_id: of_sums(seconds=n, sums=sums.get(pile_id, {})) for pile_id, n in seconds.items()}


def reported_totals(*, piles, start_day: dt.date, end_day: dt.date, height: int | None = None) -> dict[int, Totals]:
    """Per pile id: the reported days from `start_day` to `end_day`, both included, summed. `piles`:
    Pile objects, their ids or a queryset of them. A pile without any report in the period is absent
    (`.get(pile_id, NO_REPORT)`, whose ratio is None). With `height`, only reports committed up to
    that block count. One query (SUM ... GROUP BY pile); deterministic, so a contract may call it."""
    rows = AvailabilityDay.objects.filter(pile__in=piles, day__gte=start_day, day__lte=end_day)
    if height is not None:
        rows = rows.filter(height__lte=height)
    return {row["pile_id"]: totals(row) for row in sums(rows, "pile_id")}
