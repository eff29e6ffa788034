"""Availability from the status history (with flagged grid outages), silent piles, load per area."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from monitoring import ingest
from monitoring.uptime import compute
from monitoring.models import Fault, PileState
from monitoring.services import grid, load, silence
from tests.monitoring.helpers import at, sample
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


def test_compute_by_hand():
    start, end = at(0), at(100)
    result = compute(start=start, end=end, before="Available",
                     changes=[(at(10), "Faulted"), (at(40), "Charging"), (at(70), "Unavailable"), (at(90), "Available")],
                     outages=[(at(80), at(200))])
    # up: 0-10, 40-70, 90-100 = 50; down 10-40 and 70-90 = 50, of which 80-90 inside the outage
    assert (result.minutes, result.up, result.down, result.excused, result.unknown) == (100, 50, 40, 10, 0)
    assert result.ratio == 0.5 and result.ratio_excused == pytest.approx(50 / 90)
    unknown = compute(start=start, end=end, before=None, changes=[(at(25), "Available")], outages=[])
    assert (unknown.unknown, unknown.up, unknown.ratio) == (25, 75, 0.75)


def status(minutes, value, code="NoError"):
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status=value, error_code=code, info="",
                         timestamp=at(minutes), source="ocpp1.6")


def test_availability_api_with_a_flagged_outage(world, api_client):
    status(-5, "Available")
    status(10, "Unavailable")
    status(30, "Available")
    status(50, "Faulted", "GroundFailure")
    status(60, "Available")
    grid.grid_outage_flag(actor=world.users["grid_manager"], area="AREA-1", starts_at=at(10), ends_at=at(30), reason="feeder trip")
    commit_pending()
    params = {"from": at(0).isoformat(), "to": at(120).isoformat(), "pile": "PILE-A1"}
    [row] = api_client("reg_manager").get("/api/monitoring/availability/", params).json()["results"]
    assert (row["up_minutes"], row["down_minutes"], row["excused_minutes"]) == (90, 10, 20)
    assert row["availability"] == 0.75 and row["availability_excluding_outages"] == 0.9
    assert api_client("b_manager").get("/api/monitoring/availability/", params).json()["results"] == []
    assert api_client("reg_manager").get("/api/monitoring/availability/", {**params, "to": at(-1).isoformat()}).status_code == 400


def test_only_the_area_grid_company_flags_outages_and_thresholds(world, api_client):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        grid.grid_outage_flag(actor=world.users["grid2_manager"], area="AREA-1", starts_at=at(0), ends_at=at(1))
    with pytest.raises(PermissionDenied):
        grid.load_threshold_set(actor=world.users["a_manager"], area="AREA-1", percent="80")
    response = api_client("grid_manager").post("/api/monitoring/areas/AREA-1/threshold/", {"percent": "80"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert api_client("grid2_manager").post("/api/monitoring/areas/AREA-1/threshold/", {"percent": "80"}, format="json").status_code == 403


def test_silent_pile_reported_once_and_cleared(world):
    now = timezone.now()
    ingest.record_heartbeats(pile_codes=["PILE-A1"])
    PileState.objects.update(last_seen_at=now - dt.timedelta(hours=1))
    [submission] = silence.report_silent_piles(now=now)
    assert submission.body["payload"]["kind"] == "silent"
    assert silence.report_silent_piles(now=now) == []  # once
    commit_pending()
    assert Fault.objects.get().kind == "silent"
    ingest.record_heartbeats(pile_codes=["PILE-A1"])  # heard again: cleared
    assert not PileState.objects.get().silent_reported


def test_area_load_against_threshold(world, api_client, settings):
    settings.MONITORING_HEARTBEAT_INTERVAL_S = 10**8  # the samples' fixed times stay fresh
    from django.core.cache import cache

    cache.delete_many([load.over_key("AREA-1"), load.over_key("AREA-2")])  # the node's cache outlives tests
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(0, "Power.Active.Import", "6", "kW")])
    ingest.record_meter_values(pile_code="PILE-B1", connector_id=1, samples=[sample(0, "Power.Active.Import", "100", "kW")])
    ingest.record_meter_values(pile_code="PILE-B1", connector_id=2, samples=[sample(0, "Power.Active.Import", "110", "kW")])
    rows = {r["area"]: r for r in api_client("reg_manager").get("/api/monitoring/areas/load/").json()["results"]}
    assert (rows["AREA-1"]["power_kw"], rows["AREA-1"]["percent"], rows["AREA-1"]["over"]) == ("6.000", "0.8", False)
    assert (rows["AREA-2"]["power_kw"], rows["AREA-2"]["percent"], rows["AREA-2"]["over"]) == ("210.000", "42.0", False)
    grid.load_threshold_set(actor=world.users["grid2_manager"], area="AREA-2", percent="40")
    commit_pending()
    raised = load.check_area_loads()
    assert [(a["area"], a["kind"], a["area_owner"]) for a in raised] == [("AREA-2", "area_overload", "GRID-2")]
    assert load.check_area_loads() == []  # once while above
    grid.load_threshold_set(actor=world.users["grid2_manager"], area="AREA-2", percent="50")
    commit_pending()
    assert load.check_area_loads() == []  # back under: the mark goes
    grid.load_threshold_set(actor=world.users["grid2_manager"], area="AREA-2", percent="40")
    commit_pending()
    assert [a["area"] for a in load.check_area_loads()] == ["AREA-2"]  # above again: a new alert
    assert Decimal(rows["AREA-2"]["capacity_kw"]) == Decimal("500")
