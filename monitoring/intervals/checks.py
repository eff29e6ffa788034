"""The checks every node applies alike to one connector's entry of an interval report (pure: the
contract passes in what the ledger holds). A refusal names the pile, the connector and a reason code:

    malformed            a field missing or of the wrong type
    interval_misaligned  the interval is not one of the agreed grid (start a multiple of the interval
                         length, counted from midnight UTC; end = start + length)
    interval_order       the interval starts before the end of the last one reported for the connector
                         (an overlap, or an interval reported again: a correction is its own transaction)
    seconds_sum          the seconds per state are not whole, not one per state, or do not add up to the
                         interval
    energy_above_rated   more energy than the pile's rated power could deliver in the interval
    register_backwards   the energy register runs backwards: within the interval, or against the end
                         of the last interval reported (a meter replacement is its own transaction and
                         resets this check)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from monitoring.intervals.tally import STATES

CODES = ("malformed", "interval_misaligned", "interval_order", "seconds_sum", "energy_above_rated",
         "register_backwards")


@dataclass(frozen=True)
class Refusal:
    pile: str
    connector: int
    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: pile {self.pile} connector {self.connector}: {self.detail}"


@dataclass(frozen=True)
class Entry:
    """One connector's figures for one interval."""

    pile: str
    connector: int
    seconds: dict
    register_start_wh: int | None
    register_end_wh: int | None

    @property
    def energy_wh(self) -> int | None:
        if self.register_start_wh is None or self.register_end_wh is None:
            return None
        return self.register_end_wh - self.register_start_wh


@dataclass(frozen=True)
class Previous:
    """What the ledger holds of the connector's last reported interval (None: nothing yet)."""

    end: dt.datetime | None = None
    register_wh: int | None = None


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_interval(start: dt.datetime, end: dt.datetime, interval_s: int) -> str | None:
    """Why [start, end) is not an interval of the agreed grid, or None."""
    utc = start.astimezone(dt.timezone.utc)
    since_midnight = int((utc - utc.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds())
    if start.microsecond or since_midnight % interval_s or (end - start).total_seconds() != interval_s:
        return f"{start.isoformat()}..{end.isoformat()} is not an interval of {interval_s} s on the grid"
    return None


def check_entry(entry: Entry, *, start: dt.datetime, end: dt.datetime, rated_kw: Decimal,
                previous: Previous) -> Refusal | None:
    """The first reason to refuse this entry of the interval [start, end), or None."""
    def refuse(code: str, detail: str) -> Refusal:
        return Refusal(entry.pile, entry.connector, code, detail)

    length = int((end - start).total_seconds())
    if previous.end is not None and start < previous.end:
        return refuse("interval_order", f"starts at {start.isoformat()}, before the end of the last interval "
                                        f"reported ({previous.end.isoformat()})")
    seconds = entry.seconds
    if (not isinstance(seconds, dict) or set(seconds) != set(STATES)
            or not all(_whole(v) and v >= 0 for v in seconds.values())):
        return refuse("seconds_sum", f"seconds must give each of {', '.join(STATES)} as a whole number >= 0")
    if sum(seconds.values()) != length:
        return refuse("seconds_sum", f"the seconds add up to {sum(seconds.values())}, not {length}")
    for name in ("register_start_wh", "register_end_wh"):
        value = getattr(entry, name)
        if value is not None and (not _whole(value) or value < 0):
            return refuse("malformed", f"{name} must be whole Wh >= 0")
    energy = entry.energy_wh
    if energy is not None and energy < 0:
        return refuse("register_backwards", f"the register went from {entry.register_start_wh} to "
                                            f"{entry.register_end_wh} Wh")
    if (entry.register_start_wh is not None and previous.register_wh is not None
            and entry.register_start_wh < previous.register_wh):
        return refuse("register_backwards", f"the register starts at {entry.register_start_wh} Wh, below the "
                                            f"{previous.register_wh} Wh the last interval ended with")
    if energy is not None and Decimal(energy) * 3600 > rated_kw * 1000 * length:
        return refuse("energy_above_rated", f"{energy} Wh in {length} s is more than {rated_kw} kW can deliver")
    return None
