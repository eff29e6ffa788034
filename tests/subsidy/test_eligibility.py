"""What a claim may count: the pile-level figures of subsidy.contracts.eligibility, read from ledger rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from core import localtime
from ledger import definition
from ledger.execution import node_state
from monitoring.models import AvailabilityDay
from registry.models import Pile
from subsidy.contracts import eligibility

pytestmark = pytest.mark.django_db

PERIOD = "2026-03"  # Europe/Berlin: 29 March has 23 hours, the month 743


def _consortium_zone(zone: str) -> None:
    """The consortium's business zone, as a definition that says so would put it in the state."""
    state = node_state()
    state.definition = {**state.definition, "rules": {"time_zone": zone}}
    state.save(update_fields=["definition"])
    definition.forget()  # as a node started on that state would read it


@pytest.fixture
def berlin(world):
    _consortium_zone("Europe/Berlin")
    yield
    _consortium_zone("Asia/Shanghai")


def _report_up(pile: Pile, days) -> None:
    """The pile (one connector) reported up all day on each of `days`, as the ledger would hold it."""
    for day in days:
        seconds = localtime.day_length_s(day)
        AvailabilityDay.objects.create(
            pile=pile, day=day, connectors=1, seconds=seconds, up_seconds=seconds, down_seconds=0,
            excused_seconds=0, unknown_seconds=0, root="ab" * 32, events=1, reported_by="OP-A", height=1,
            tx_id="cd" * 32)


def _march_but(*left_out: int) -> list[dt.date]:
    return [dt.date(2026, 3, day) for day in range(1, 32) if day not in left_out]


def test_a_day_without_a_report_counts_as_down_for_its_own_length(world, berlin):
    pile = Pile.objects.get(code="PILE-A1")
    assert pile.connectors.count() == 1
    assert localtime.day_length_s(dt.date(2026, 3, 29)) == 82800
    month_s = 31 * 86400 - 3600
    # The 23-hour day left out: 23 hours down, not an average day's 86,283 seconds.
    _report_up(pile, _march_but(29))
    figures = eligibility.period_figures([pile], PERIOD)[pile.pk]
    assert figures.availability == Decimal((month_s - 82800) * 10**6 // month_s).scaleb(-6) == Decimal("0.969044")
    # A 24-hour day left out instead: 24 hours down.
    AvailabilityDay.objects.all().delete()
    _report_up(pile, _march_but(30))
    figures = eligibility.period_figures([pile], PERIOD)[pile.pk]
    assert figures.availability == Decimal((month_s - 86400) * 10**6 // month_s).scaleb(-6) == Decimal("0.967698")
