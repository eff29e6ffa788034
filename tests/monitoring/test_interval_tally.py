"""The seconds of a connector in each state over an interval (monitoring.intervals.tally): they add up
to the interval, the connection outranks the status, whole seconds only."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.intervals.tally import STATES, Change, state_of, tally

T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def only(**parts) -> dict:
    return {state: parts.get(state, 0) for state in STATES}


def test_a_quiet_interval_is_all_one_state():
    assert tally(start=at(0), end=at(900), status_before="Available", online_before=True, changes=[]) == only(available=900)
    assert tally(start=at(0), end=at(900), status_before=None, online_before=None, changes=[]) == only(unknown=900)


def test_status_changes_and_a_disconnection_split_the_interval_and_add_up():
    changes = [Change(at(100), status="Preparing"), Change(at(160.7), status="Charging"),
               Change(at(400), online=False), Change(at(500), status="Finishing"),  # said while offline: kept
               Change(at(600), online=True), Change(at(700), status="Faulted"), Change(at(850), status="Available")]
    seconds = tally(start=at(0), end=at(900), status_before="Available", online_before=True, changes=changes)
    assert seconds == only(available=100 + 50, occupied=60 + 240 + 100, offline=200, faulted=150)
    assert sum(seconds.values()) == 900


def test_changes_outside_the_interval_are_ignored_and_same_second_changes_keep_their_order():
    changes = [Change(at(-5), status="Faulted"), Change(at(300), status="Charging"),
               Change(at(300.9), status="Unavailable"), Change(at(900), status="Faulted")]
    seconds = tally(start=at(0), end=at(900), status_before="Available", online_before=True, changes=changes)
    assert seconds == only(available=300, unavailable=600)


@pytest.mark.parametrize("status, online, state", [
    ("Faulted", False, "offline"), ("Charging", None, "occupied"), ("SuspendedEVSE", True, "occupied"),
    ("Occupied", True, "occupied"), ("Reserved", True, "unavailable"), ("Available", True, "available"),
    (None, True, "unknown"), ("Bogus", True, "unknown"),
])
def test_each_status_has_one_state(status, online, state):
    assert state_of(status, online) == state


def test_an_interval_must_end_after_it_starts():
    with pytest.raises(ValueError):
        tally(start=at(10), end=at(10.5), status_before=None, online_before=None, changes=[])
