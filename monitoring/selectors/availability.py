"""Availability: per connector and period from this node's status history and the flagged outages
(telemetry, node-local), and per pile and day from the reports committed on the ledger, restricted
to what the user may see. The period totals of the reports are summed on the contract side
(monitoring.contracts.reads), where other apps' contracts read them too.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Max

from core import localtime
from monitoring.contracts.reads import SUMMED, sums, totals
from monitoring.models import AvailabilityDay, GridOutage, StatusEvent
from monitoring.uptime import compute
from registry.access import PRIVATE
from registry.models import Connector, Pile

MAX_DAYS = 400


class PeriodError(ValueError):
    pass


def availability(*, user, start: dt.datetime, end: dt.datetime, pile: str = "") -> list[dict]:
    if end <= start:
        raise PeriodError("the period must end after it starts")
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise PeriodError(f"at most {MAX_DAYS} days at once")
    piles = Pile.objects.restrict(user, PRIVATE).select_related("station__grid_area")
    if pile:
        piles = piles.filter(code__iexact=pile)
    rows = []
    for connector in Connector.objects.filter(pile__in=piles).select_related("pile__station").order_by("pile__code", "connector_id"):
        area_id = connector.pile.station.grid_area_id
        outages = [(o.starts_at, o.ends_at) for o in GridOutage.objects.filter(
            area_id=area_id, starts_at__lt=end, ends_at__gt=start).order_by("starts_at")]
        events = StatusEvent.objects.filter(pile=connector.pile, connector_id=connector.connector_id)
        before = events.filter(ts__lt=start).order_by("-ts", "-id").values_list("status", flat=True).first()
        changes = list(events.filter(ts__gte=start, ts__lt=end).order_by("ts", "id").values_list("ts", "status"))
        result = compute(start=start, end=end, before=before, changes=changes, outages=outages)
        rows.append({
            "pile": connector.pile.code, "connector_id": connector.connector_id,
            "minutes": round(result.minutes, 2), "up_minutes": round(result.up, 2),
            "down_minutes": round(result.down, 2), "excused_minutes": round(result.excused, 2),
            "unknown_minutes": round(result.unknown, 2),
            "availability": None if result.ratio is None else round(result.ratio, 6),
            "availability_excluding_outages": None if result.ratio_excused is None else round(result.ratio_excused, 6),
            "outages": [{"starts_at": a, "ends_at": b} for a, b in outages],
        })
    return rows


def period_days(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The local days a period [start, end) touches, first and last."""
    return localtime.local_day(start), localtime.local_day(end - dt.timedelta(microseconds=1))


def reported(*, user, start_day: dt.date, end_day: dt.date, pile: str = "", with_days: bool = False) -> list[dict]:
    """The reports on the ledger of the piles the user may see, per pile (by code): the period's
    totals, ratio and the last block height; with `with_days`, each day's report too."""
    if end_day < start_day:
        raise PeriodError("the period must end after it starts")
    if (end_day - start_day).days > MAX_DAYS:
        raise PeriodError(f"at most {MAX_DAYS} days at once")
    piles = Pile.objects.restrict(user, PRIVATE)
    if pile:
        piles = piles.filter(code__iexact=pile)
    rows = AvailabilityDay.objects.restrict(user).filter(pile__in=piles, day__gte=start_day, day__lte=end_day)
    result = []
    for row in sums(rows, "pile__code", height=Max("height")):
        total = totals(row)
        result.append({"pile": row["pile__code"], "days": total.days, **{name: getattr(total, name) for name in SUMMED},
                       "ratio": total.ratio, "height": row["height"]})
    if with_days:
        by_pile: dict[str, list] = {}
        for report in rows.select_related("pile").order_by("pile__code", "day"):
            by_pile.setdefault(report.pile.code, []).append(day_row(report))
        for entry in result:
            entry["reports"] = by_pile.get(entry["pile"], [])
    return result


def day_row(report: AvailabilityDay) -> dict:
    return {
        "day": report.day, "connectors": report.connectors, **{name: getattr(report, name) for name in SUMMED},
        "ratio": report.ratio, "events": report.events, "root": report.root, "reported_by": report.reported_by,
        "height": report.height, "tx_id": report.tx_id,
    }
