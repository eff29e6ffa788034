"""Curtailment on the ledger: the grid company's request and how its limit is shared among the
area's piles (the gateway side: tests/gateway/test_curtailment.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger.models import CommittedTx
from ledger.services import node_submit
from monitoring.intervals.curtailment import pile_limits
from monitoring.models import Curtailment
from tests.utils.ledger import commit_pending

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def test_the_limit_is_shared_by_rated_power_in_whole_watts():
    assert pile_limits(Decimal("100"), {"A": Decimal("7"), "B": Decimal("120"), "C": Decimal("60")}) == {
        "A": 3743, "B": 64171, "C": 32085}
    assert sum(pile_limits(Decimal("100"), {"A": Decimal("7"), "B": Decimal("3")}).values()) <= 100_000
    assert pile_limits(Decimal("10"), {"A": Decimal("0")}) == {"A": 0}
    assert pile_limits(Decimal("10"), {}) == {}
    # Shared over the total kept with the curtailment: a pile that joined later does not push the sum over.
    assert pile_limits(Decimal("10"), {"A": Decimal("7"), "NEW": Decimal("7")}, total=Decimal("7")) == {
        "A": 10000, "NEW": 10000}
    assert pile_limits(Decimal("10"), {"A": Decimal("7")}, total=Decimal("14")) == {"A": 5000}


def request(payload: dict, institution: str = "GRID-1") -> CommittedTx:
    submission = node_submit(type="monitoring.curtailment_request", institution=institution, check=False, payload={
        "area": "AREA-1", "starts_at": NOW.isoformat(), "ends_at": (NOW + dt.timedelta(hours=1)).isoformat(),
        "limit_kw": "3.0", "reason": "transformer overload", **payload})
    commit_pending()
    return CommittedTx.objects.get(tx_id=submission.tx_id)


@pytest.mark.django_db
def test_the_areas_grid_company_curtails_it(world):
    committed = request({})
    assert (committed.status, committed.reason) == ("applied", "")
    row = Curtailment.objects.get()
    assert (row.area.code, row.limit_kw, row.requested_by, row.reason) == ("AREA-1", Decimal("3.0"), "GRID-1",
                                                                          "transformer overload")
    assert request({}, institution="GRID-2").reason == "only the area's grid company curtails its area"
    assert request({}, institution="OP-A").status == "rejected"
    assert request({"area": "NOPE"}).reason == "unknown grid area"
    assert request({"ends_at": NOW.isoformat()}).reason == "a curtailment ends after it starts"
    assert request({"ends_at": (NOW + dt.timedelta(days=2)).isoformat()}).reason.startswith("a curtailment lasts at most a day")
    past = {"starts_at": (NOW - dt.timedelta(hours=3)).isoformat(), "ends_at": (NOW - dt.timedelta(hours=2)).isoformat()}
    assert request(past).reason == "the curtailment is over at this block's time"
    assert request({"limit_kw": "-1"}).status == "rejected"
    # One at a time per area: a profile for a later one would replace the one in force at the piles.
    assert request({"starts_at": (NOW + dt.timedelta(minutes=30)).isoformat(),
                    "ends_at": (NOW + dt.timedelta(hours=2)).isoformat()}).reason.startswith("the area is already curtailed")
    assert request({"starts_at": (NOW + dt.timedelta(hours=1)).isoformat(),
                    "ends_at": (NOW + dt.timedelta(hours=2)).isoformat()}).status == "applied"
    assert Curtailment.objects.count() == 2
    # The shares are of the rated power of the area's admitted piles when it was applied (PILE-A1: 7 kW).
    assert {row.rated_total_kw for row in Curtailment.objects.all()} == {Decimal("7.0")}


@pytest.mark.django_db
def test_the_api_curtails_for_the_grid_company_and_shows_whether_it_held(world, api_client):
    start = NOW.replace(minute=0, second=0) - dt.timedelta(hours=2)
    body = {"starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=3)).isoformat(), "limit_kw": "0.1"}
    assert api_client("a_manager").post("/api/monitoring/areas/AREA-1/curtailments/", body, format="json").status_code == 403
    assert api_client("grid2_manager").post("/api/monitoring/areas/AREA-1/curtailments/", body,
                                            format="json").status_code == 403
    response = api_client("grid_manager").post("/api/monitoring/areas/AREA-1/curtailments/", body, format="json")
    assert response.status_code == 202, response.content
    commit_pending()
    # Two agreed intervals inside it: 100 W on average (25 Wh in 15 minutes), then 400 W.
    for n, wh in ((0, 25), (1, 100)):
        node_submit(type="monitoring.interval_report", institution="OP-A", check=False, payload={
            "start": (start + dt.timedelta(minutes=15 * n)).isoformat(), "connectors": [{
                "pile": "PILE-A1", "connector": 1, "state": "occupied",
                "seconds": {"available": 0, "occupied": 900, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0},
                "register_start_wh": 1000 + n * 25, "register_end_wh": 1000 + n * 25 + wh, "peak_w": 500,
                "authorizations": 0, "sessions_started": 0, "sessions_ended": {}, "events": 0, "root": "",
                "signed_end": ""}]})
    commit_pending()
    [row] = api_client("reg_manager").get("/api/monitoring/areas/AREA-1/curtailments/").json()["results"]
    assert row["limit_kw"] == "0.1" and [i["within"] for i in row["intervals"]] == [True, False]
    assert row["held"] is False
