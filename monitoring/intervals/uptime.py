"""One availability, computed from the agreed intervals (pure; docs/intervals.md, "Uptime").

    uptime = (seconds in the period - (outage seconds - excluded seconds)) / seconds in the period

per connector, and for a pile, a station, an area or an operator over the sum of their connectors'
seconds (the NEVI formula). A connector is up while it is available or occupied; outage is every
other second: faulted, unavailable, offline, unknown, and every second no report covers
(unreported). Excluded seconds are outage seconds inside an agreed exclusion (a grid outage the grid
company declared for the area, planned maintenance the operator announced before it started), as the
contract counted them when it applied the report. Integers in, a Decimal of six places out, the same
at every node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

PLACES = Decimal("0.000001")
OUTAGE_STATES = ("faulted", "unavailable", "offline", "unknown")
UP_STATES = ("available", "occupied")


@dataclass(frozen=True)
class Uptime:
    """Connector-seconds of a period: `seconds` in it, of which `reported` are covered by reports,
    `up` up, `outage` reported as outage (the unreported rest is outage too), `excluded` excluded."""

    seconds: int
    reported: int
    up: int
    outage: int
    excluded: int

    @property
    def unreported(self) -> int:
        return max(self.seconds - self.reported, 0)

    @property
    def counted_outage(self) -> int:
        """Outage the operator answers for: reported and unreported outage, less the excluded."""
        return self.outage + self.unreported - self.excluded

    @property
    def ratio(self) -> Decimal | None:
        if self.seconds <= 0:
            return None
        return (Decimal(self.seconds - self.counted_outage) / Decimal(self.seconds)).quantize(PLACES, ROUND_HALF_EVEN)

    def __add__(self, other: "Uptime") -> "Uptime":
        return Uptime(self.seconds + other.seconds, self.reported + other.reported, self.up + other.up,
                      self.outage + other.outage, self.excluded + other.excluded)


NONE = Uptime(0, 0, 0, 0, 0)


def of_sums(*, seconds: int, sums: dict) -> Uptime:
    """The uptime of `seconds` connector-seconds whose day rows add up to `sums` ({"<state>_s": n,
    "excluded_s": n}; missing keys count 0)."""
    up = sum(int(sums.get(f"{state}_s") or 0) for state in UP_STATES)
    outage = sum(int(sums.get(f"{state}_s") or 0) for state in OUTAGE_STATES)
    reported = min(up + outage, seconds)
    return Uptime(seconds=seconds, reported=reported, up=up, outage=outage,
                  excluded=min(int(sums.get("excluded_s") or 0), outage))


def connector_seconds(start_day: dt.date, end_day: dt.date, *, tz, since: dt.date | None = None,
                      until: dt.datetime | None = None) -> int:
    """The seconds a connector counts in the local days `start_day`..`end_day` of zone `tz`: from the
    start of the first (or of `since`, the day its pile was commissioned, if later) to the end of the
    last (or `until`, if earlier). Computed, never assumed: a day a zone changes its clocks has 23 or
    25 hours."""
    first = max(start_day, since) if since else start_day
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz).astimezone(dt.timezone.utc)
    if until is not None:
        end = min(end, until)
    delta = end - start
    return max(delta.days * 86400 + delta.seconds, 0)
