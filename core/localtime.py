"""The consortium's local time: the local day and the settlement period of an instant.

One rule for contracts and pages alike. The zone is the consortium's (`rules.time_zone` in the
definition in force, see ledger.definition), the same at every node; a node's own TIME_ZONE setting
(PILECHAIN_LOCAL_TZ) only changes how its pages display times. Lengths are computed, never assumed:
86,400 seconds in China, 82,800 or 90,000 on a day a zone with daylight saving time changes its
clocks. Every function takes the zone explicitly for callers that hold one (a run of contracts reads
it once); without it, the consortium's.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from ledger import definition

DAY_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
UTC = dt.timezone.utc


def zone() -> ZoneInfo:
    return definition.zone()


def parse_day(text) -> dt.date | None:
    """A strict "YYYY-MM-DD" (not the other forms date.fromisoformat accepts); None otherwise."""
    if not isinstance(text, str) or not DAY_FORMAT.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def local_day(moment: dt.datetime, tz: ZoneInfo | None = None) -> dt.date:
    return moment.astimezone(tz or zone()).date()


def yesterday(now: dt.datetime, tz: ZoneInfo | None = None) -> dt.date:
    return local_day(now, tz) - dt.timedelta(days=1)


def day_bounds(day: dt.date, tz: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local day, in UTC."""
    tz = tz or zone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def day_length_s(day: dt.date, tz: ZoneInfo | None = None) -> int:
    # In UTC: subtracting two times of the same ZoneInfo counts wall-clock time and would miss a
    # daylight-saving shift. Integer seconds from integer parts, no float.
    start, end = day_bounds(day, tz)
    delta = end - start
    return delta.days * 86400 + delta.seconds


# Settlement periods are calendar months in local time: "2026-03".

def period_of(moment: dt.datetime, tz: ZoneInfo | None = None) -> str:
    local = moment.astimezone(tz or zone())
    return f"{local.year:04d}-{local.month:02d}"


def period_bounds(period: str, tz: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a "YYYY-MM" period, in UTC."""
    tz = tz or zone()
    year, month = int(period[:4]), int(period[5:7])
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
