"""The checks of one connector's interval entry (monitoring.intervals.checks): each forged figure is
refused with its reason code, naming the pile and the connector."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from monitoring.intervals.checks import CODES, Entry, Previous, check_entry, check_interval
from monitoring.intervals.tally import STATES

START = dt.datetime(2026, 12, 7, 8, 15, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(seconds=900)


def entry(**changes) -> Entry:
    values = {"pile": "P-1", "connector": 2, "seconds": {**dict.fromkeys(STATES, 0), "available": 600, "occupied": 300},
              "register_start_wh": 10_000, "register_end_wh": 11_500}
    return Entry(**{**values, **changes})


def check(e: Entry, *, rated_kw="7", previous=Previous()):
    return check_entry(e, start=START, end=END, rated_kw=Decimal(rated_kw), previous=previous)


def test_an_honest_entry_passes():
    assert check(entry()) is None
    assert check(entry(register_start_wh=None, register_end_wh=None)) is None  # no register known: no energy
    assert check(entry(), previous=Previous(end=START, register_wh=10_000)) is None
    assert check(entry(register_start_wh=11_500, register_end_wh=11_500 + 1750)) is None  # exactly 7 kW for 15 min


@pytest.mark.parametrize("forged, previous, code", [
    (entry(seconds={**dict.fromkeys(STATES, 0), "available": 600, "occupied": 299}), Previous(), "seconds_sum"),
    (entry(seconds={"available": 900}), Previous(), "seconds_sum"),
    (entry(seconds={**dict.fromkeys(STATES, 0), "available": 1000, "occupied": -100}), Previous(), "seconds_sum"),
    (entry(seconds={**dict.fromkeys(STATES, 0), "available": 900.0}), Previous(), "seconds_sum"),
    (entry(register_end_wh=9_000), Previous(), "register_backwards"),
    (entry(), Previous(end=START, register_wh=10_500), "register_backwards"),
    (entry(register_end_wh=10_000 + 1751), Previous(), "energy_above_rated"),
    (entry(), Previous(end=END, register_wh=10_000), "interval_order"),
    (entry(register_start_wh="10000"), Previous(), "malformed"),
])
def test_each_forgery_is_refused_with_its_code_naming_pile_and_connector(forged, previous, code):
    refusal = check(forged, previous=previous)
    assert refusal is not None and refusal.code == code and code in CODES
    assert str(refusal).startswith(f"{code}: pile P-1 connector 2: ")


def test_only_intervals_of_the_grid_are_reported():
    assert check_interval(START, END, 900) is None
    assert check_interval(START, END, 300) is not None  # 900 s long
    assert check_interval(START + dt.timedelta(seconds=60), END + dt.timedelta(seconds=60), 900) is not None
    assert check_interval(START + dt.timedelta(microseconds=5), END + dt.timedelta(microseconds=5), 900) is not None
    assert check_interval(START, START + dt.timedelta(seconds=5), 5) is None  # tests use intervals of seconds
