"""Seconds of one connector in each state over one interval (pure).

The states of an interval report, one per second of the interval:

    offline       the pile's connection to its operator's central system is down (whatever the
                  connector last said)
    faulted       Faulted
    occupied      in use: Preparing, Charging, SuspendedEV/EVSE, Finishing, Occupied
    unavailable   Unavailable, Reserved
    available     Available
    unknown       no status known yet, or a status outside OCPP's

The connector statuses are grouped as the operational state groups them (monitoring.operational_state),
so a page and a report never disagree on what a status means. Every time is first taken down to its
whole second, so the six parts are whole seconds that add up exactly to the interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from monitoring.operational_state import (
    AVAILABLE_STATUSES, FAULTED_STATUSES, IN_USE_STATUSES, UNAVAILABLE_STATUSES,
)

STATES = ("available", "occupied", "faulted", "unavailable", "offline", "unknown")
SECOND = dt.timedelta(seconds=1)


def state_of(status: str | None, online: bool | None) -> str:
    """The report state of a second: the connection first, then the connector's last status. A pile
    whose connection was never seen (online None) counts by its status."""
    if online is False:
        return "offline"
    if status in FAULTED_STATUSES:
        return "faulted"
    if status in IN_USE_STATUSES:
        return "occupied"
    if status in UNAVAILABLE_STATUSES:
        return "unavailable"
    if status in AVAILABLE_STATUSES:
        return "available"
    return "unknown"


@dataclass(frozen=True)
class Change:
    """At `at` the connector's status became `status`, or (status None) the pile's connection went up
    or down (`online`)."""

    at: dt.datetime
    status: str | None = None
    online: bool | None = None


def _floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0)


def tally(*, start: dt.datetime, end: dt.datetime, status_before: str | None, online_before: bool | None,
          changes: list[Change]) -> dict[str, int]:
    """Whole seconds per state (every key of STATES) in [start, end). `status_before` / `online_before`:
    what held at `start`; `changes` inside the interval, in the order they happened (the caller's order
    decides between changes in the same second; changes outside the interval are ignored)."""
    start, end = _floor(start), _floor(end)
    if end <= start:
        raise ValueError("an interval ends after it starts")
    seconds = dict.fromkeys(STATES, 0)
    status, online, since = status_before, online_before, start
    for change in sorted(changes, key=lambda c: _floor(c.at)):  # stable: same-second changes keep their order
        at = _floor(change.at)
        if at < start or at >= end:
            continue
        seconds[state_of(status, online)] += (at - since) // SECOND
        if change.status is not None:
            status = change.status
        else:
            online = change.online
        since = at
    seconds[state_of(status, online)] += (end - since) // SECOND
    return seconds
