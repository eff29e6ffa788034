"""Uptime: the availability of a connector over a period, from its status history, and the ratio a
report's figures give (pure).

A connector is up while its last reported status is one of UP_STATUSES (it could serve a driver:
Available, Preparing, Charging, SuspendedEV/EVSE, Finishing, Reserved, Occupied). Down time that falls
inside a grid outage flagged by the grid company is not the operator's doing and is counted apart.
Time before the first status of the period takes the last status before the period; time with no
status known at all counts as unknown (neither up nor down). Overlapping outages are merged first,
so an hour inside two flagged outages is excused once.

`compute` answers in minutes (floats, for pages); `compute_seconds` in whole seconds (integers, for
the daily reports on the ledger): there every time is first taken down to its whole second, so the
four parts are whole seconds that add up exactly to the period. `ratio` is the availability of
reported figures (integers in, a Decimal out), the same on every node.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

UP_STATUSES = {"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Occupied"}
SECOND = dt.timedelta(seconds=1)
RATIO_PLACES = 6


@dataclass(frozen=True)
class Availability:
    minutes: float
    up: float
    down: float
    excused: float  # down, but inside a flagged grid outage
    unknown: float

    @property
    def ratio(self) -> float | None:
        """Minutes up over minutes in the period."""
        return None if self.minutes <= 0 else self.up / self.minutes

    @property
    def ratio_excused(self) -> float | None:
        """Minutes up over the minutes the operator answers for (the period less flagged outages)."""
        counted = self.minutes - self.excused
        return None if counted <= 0 else self.up / counted


@dataclass(frozen=True)
class Seconds:
    """Whole seconds of one connector (or, added up, of a pile) in a period."""

    seconds: int
    up: int
    down: int
    excused: int
    unknown: int

    def __add__(self, other: "Seconds") -> "Seconds":
        return Seconds(self.seconds + other.seconds, self.up + other.up, self.down + other.down,
                       self.excused + other.excused, self.unknown + other.unknown)


ZERO = Seconds(0, 0, 0, 0, 0)


def merge(intervals) -> list[tuple[dt.datetime, dt.datetime]]:
    """Intervals sorted and merged where they overlap or touch; empty ones dropped."""
    merged: list[list[dt.datetime]] = []
    for start, end in sorted((a, b) for a, b in intervals if b > a):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def covered(start: dt.datetime, end: dt.datetime, merged) -> dt.timedelta:
    """How much of [start, end) the merged intervals cover."""
    total = dt.timedelta(0)
    for a, b in merged:
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += hi - lo
    return total


def floor_second(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def _tally(start, end, before, changes, outages) -> tuple[dt.timedelta, ...]:
    merged = merge(outages)
    segments = []
    current, since = before, start
    # By time only: the caller's order (time, then arrival) decides between changes in the same instant.
    for at, status in sorted(changes, key=lambda change: change[0]):
        if at < start or at >= end:
            continue
        segments.append((since, at, current))
        current, since = status, at
    segments.append((since, end, current))
    up = down = excused = unknown = dt.timedelta(0)
    for s0, s1, status in segments:
        length = s1 - s0
        if status is None:
            unknown += length
        elif status in UP_STATUSES:
            up += length
        else:
            ex = covered(s0, s1, merged)
            excused += ex
            down += length - ex
    return end - start, up, down, excused, unknown


def compute(*, start: dt.datetime, end: dt.datetime, before: str | None, changes: list[tuple[dt.datetime, str]],
            outages: list[tuple[dt.datetime, dt.datetime]]) -> Availability:
    """`before`: status in force at `start` (None: unknown); `changes`: (time, status) inside the period."""
    return Availability(*(part.total_seconds() / 60 for part in _tally(start, end, before, changes, outages)))


def compute_seconds(*, start: dt.datetime, end: dt.datetime, before: str | None,
                    changes: list[tuple[dt.datetime, str]], outages: list[tuple[dt.datetime, dt.datetime]]) -> Seconds:
    """As `compute`, in whole seconds: every time (period, changes, outages) taken down to its second."""
    parts = _tally(
        floor_second(start), floor_second(end), before, [(floor_second(at), status) for at, status in changes],
        [(floor_second(a), floor_second(b)) for a, b in outages],
    )
    return Seconds(*(part // SECOND for part in parts))


def ratio(*, up: int, seconds: int, excused: int) -> Decimal | None:
    """up / (seconds - excused) with 6 decimal places, rounded down, so that a ratio never reaches a
    minimum it falls short of; None when no second is counted. Integers only: the same on every node."""
    counted = seconds - excused
    if counted <= 0:
        return None
    return Decimal(up * 10**RATIO_PLACES // counted).scaleb(-RATIO_PLACES)
