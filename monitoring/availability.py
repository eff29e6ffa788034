"""Availability of a connector over a period, from its status history (pure).

A connector is up while its last reported status is one of UP_STATUSES (it could serve a driver:
Available, Preparing, Charging, SuspendedEV/EVSE, Finishing, Reserved, Occupied). Down time that falls
inside a grid outage flagged by the grid company is not the operator's doing and is counted apart.
Time before the first status of the period takes the last status before the period; time with no
status known at all counts as unknown (neither up nor down).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UP_STATUSES = {"Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Occupied"}


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


def _overlap(a0, a1, b0, b1) -> float:
    start, end = max(a0, b0), min(a1, b1)
    return max((end - start).total_seconds(), 0) / 60


def compute(*, start: dt.datetime, end: dt.datetime, before: str | None, changes: list[tuple[dt.datetime, str]],
            outages: list[tuple[dt.datetime, dt.datetime]]) -> Availability:
    """`before`: status in force at `start` (None: unknown); `changes`: (time, status) inside the period."""
    segments = []
    current, since = before, start
    for at, status in sorted(changes):
        if at < start or at >= end:
            continue
        segments.append((since, at, current))
        current, since = status, at
    segments.append((since, end, current))
    up = down = excused = unknown = 0.0
    for s0, s1, status in segments:
        minutes = (s1 - s0).total_seconds() / 60
        if status is None:
            unknown += minutes
        elif status in UP_STATUSES:
            up += minutes
        else:
            ex = min(sum(_overlap(s0, s1, o0, o1) for o0, o1 in outages), minutes)
            excused += ex
            down += minutes - ex
    return Availability((end - start).total_seconds() / 60, up, down, excused, unknown)
