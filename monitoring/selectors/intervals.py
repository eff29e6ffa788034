"""Reads of the agreed intervals: uptime per connector, pile, station, area or operator over local
days, and an area's load curve, narrowed to what the user may see (the rows' restrictions).

Every node holds the same day rows (they are ledger state), so every node answers the same for the
same period and user rights. A connector counts from the start of the period, or of the day its pile
was commissioned if later, to the end of the period, or `until` (now) if earlier: seconds of that span
no report covers are outage (monitoring.intervals.uptime).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Sum

from core import localtime
from monitoring.intervals.uptime import NONE, Uptime, connector_seconds, of_sums
from monitoring.models import AreaLoad, ConnectorDay, Curtailment
from monitoring.models.intervals import SECONDS_FIELDS
from registry.models import Connector, PileStatus

# by -> (the day row's fields, the names the rows give them)
GROUPS = {
    "connector": (("pile__code", "connector_id"), ("pile", "connector")),
    "pile": (("pile__code",), ("pile",)),
    "station": (("pile__station__code",), ("station",)),
    "area": (("pile__station__grid_area__code",), ("area",)),
    "operator": (("pile__station__operator__code",), ("operator",)),
}
SUMMED = (*SECONDS_FIELDS, "excluded_s", "energy_wh", "signed_energy_wh")
COUNTED_STATUSES = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)


class PeriodError(ValueError):
    pass


def uptime(*, user, by: str, start_day: dt.date, end_day: dt.date, until: dt.datetime | None = None,
           pile: str = "") -> list[dict]:
    """One row per group (`by`: connector, pile, station, area or operator) of the connectors the user
    may see: the keys of the group, `connectors`, the Uptime, and the energy (Wh, and how much of it
    the piles signed). Ordered by the group's keys."""
    if by not in GROUPS:
        raise PeriodError(f"by must be one of {', '.join(GROUPS)}")
    if end_day < start_day:
        raise PeriodError("the period ends before it starts")
    if (end_day - start_day).days > 366:
        raise PeriodError("a period is at most a year")
    tz = localtime.zone()
    keys, names = GROUPS[by]
    # The connectors whose day rows the user may see: the same rule as the rows (ConnectorDay.restriction).
    visible = ConnectorDay.restriction.view_q(user)
    if visible is None:
        return []
    connectors = (Connector.objects.filter(visible, pile__status__in=COUNTED_STATUSES)
                  .values_list(*keys, "pile__commissioned_on"))
    if pile:
        connectors = connectors.filter(pile__code=pile)
    seconds: dict[tuple, int] = defaultdict(int)
    counts: dict[tuple, int] = defaultdict(int)
    for row in connectors.order_by(*keys):
        key, commissioned = row[:-1], row[-1]
        seconds[key] += connector_seconds(start_day, end_day, since=commissioned, until=until, tz=tz)
        counts[key] += 1
    days = ConnectorDay.objects.restrict(user).filter(day__gte=start_day, day__lte=end_day)
    if pile:
        days = days.filter(pile__code=pile)
    sums = {tuple(row[k] for k in keys): row for row in
            days.order_by(*keys).values(*keys).annotate(**{name: Sum(name) for name in SUMMED})}
    out = []
    for key in sorted(set(seconds) | set(sums), key=lambda k: tuple(str(v) for v in k)):
        found = sums.get(key, {})
        figures = of_sums(seconds=seconds.get(key, 0), sums=found) if key in seconds else NONE
        out.append({**dict(zip(names, key)),
                    "connectors": counts.get(key, 0), "uptime": figures,
                    "energy_wh": int(found.get("energy_wh") or 0),
                    "signed_energy_wh": int(found.get("signed_energy_wh") or 0)})
    return out


def area_load_curve(*, user, area, start: dt.datetime, end: dt.datetime) -> list[AreaLoad]:
    """The area's agreed load, interval by interval, in [start, end)."""
    return list(AreaLoad.objects.restrict(user).filter(area=area, start__gte=start, start__lt=end).order_by("start"))


def curtailment_outcomes(*, user, area) -> list[dict]:
    """The area's curtailments, newest first, each with the agreed intervals inside it: the area's
    average power against the limit, and whether it held in every interval reported so far (None:
    none reported yet)."""
    out = []
    for curtailment in Curtailment.objects.restrict(user).filter(area=area).order_by("-starts_at", "uid"):
        limit_w = int(curtailment.limit_kw * 1000)
        intervals = [{"start": load.start, "average_w": load.average_w, "within": load.average_w <= limit_w}
                     for load in AreaLoad.objects.restrict(user).filter(
                         area=area, start__gte=curtailment.starts_at, start__lt=curtailment.ends_at).order_by("start")]
        out.append({"uid": str(curtailment.uid), "starts_at": curtailment.starts_at, "ends_at": curtailment.ends_at,
                    "limit_kw": str(curtailment.limit_kw), "reason": curtailment.reason, "height": curtailment.height,
                    "intervals": intervals, "held": all(i["within"] for i in intervals) if intervals else None})
    return out


def recent_loads(*, user, areas, count: int = 8) -> dict[int, list[AreaLoad]]:
    """Per area id: its last `count` agreed intervals, newest first (one query per area: a few areas)."""
    return {area.pk: list(AreaLoad.objects.restrict(user).filter(area=area).order_by("-start")[:count])
            for area in areas}


__all__ = ["GROUPS", "PeriodError", "Uptime", "area_load_curve", "recent_loads", "uptime"]
