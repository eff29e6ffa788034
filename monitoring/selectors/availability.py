"""Availability per connector and period, from this node's status history and the flagged outages."""

from __future__ import annotations

import datetime as dt

from monitoring.access import visible_piles
from monitoring.availability import compute
from monitoring.models import GridOutage, StatusEvent
from registry.models import Connector

MAX_DAYS = 400


class PeriodError(ValueError):
    pass


def availability(*, user, start: dt.datetime, end: dt.datetime, pile: str = "") -> list[dict]:
    if end <= start:
        raise PeriodError("the period must end after it starts")
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise PeriodError(f"at most {MAX_DAYS} days at once")
    piles = visible_piles(user).select_related("station__grid_area")
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
