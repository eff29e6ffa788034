"""Local days: the unit of the daily availability reports.

A day is a calendar day in the platform's local time zone (PILECHAIN_LOCAL_TZ, Asia/Shanghai by
default; the same rule as settlement's business periods), so every node must run with the same zone.
Its length is computed, never assumed: 86,400 seconds in China, 82,800 or 90,000 on a day a zone
with daylight saving time changes its clocks.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings

DAY_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def local_tz() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "PILECHAIN_LOCAL_TZ", None) or settings.TIME_ZONE)


def parse_day(text) -> dt.date | None:
    """A strict "YYYY-MM-DD" (not the other forms date.fromisoformat accepts); None otherwise."""
    if not isinstance(text, str) or not DAY_FORMAT.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def bounds(day: dt.date, tz: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local day, in UTC."""
    tz = tz or local_tz()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def length_s(day: dt.date, tz: ZoneInfo | None = None) -> int:
    # In UTC: subtracting two times of the same ZoneInfo counts wall-clock time and would miss a
    # daylight-saving shift.
    start, end = bounds(day, tz)
    return (end - start) // dt.timedelta(seconds=1)


def local_day(moment: dt.datetime, tz: ZoneInfo | None = None) -> dt.date:
    return moment.astimezone(tz or local_tz()).date()


def yesterday(now: dt.datetime, tz: ZoneInfo | None = None) -> dt.date:
    return local_day(now, tz) - dt.timedelta(days=1)
