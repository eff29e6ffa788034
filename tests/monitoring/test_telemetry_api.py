"""The telemetry API: latest state, aggregates with hand-computed figures, keyset pages, CSV, access."""

import csv
import io

import pytest

from monitoring import ingest
from tests.monitoring.helpers import sample

pytestmark = pytest.mark.django_db

RANGE = {"pile": "PILE-A1", "measurand": "Power.Active.Import", "from": "2026-03-01T08:00:00Z", "to": "2026-03-01T09:00:00Z"}


@pytest.fixture
def power(world):
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
        sample(0, "Power.Active.Import", "1000", "W"),
        sample(0, "Power.Active.Import", "3", "kW", seconds=30),
        sample(1, "Power.Active.Import", "2000", "W"),
        sample(5, "Power.Active.Import", "4", "kW"),
        sample(6, "Power.Active.Import", "6000", "W"),
        sample(6, "Power.Active.Import", "230", "W", phase="L1"),  # a phase value: not in the totals
        sample(59, "Voltage", "231", "V"),
    ])
    ingest.record_meter_values(pile_code="PILE-B1", connector_id=1, samples=[sample(0, "Power.Active.Import", "50", "kW")])
    return world


def test_aggregate_per_interval(power, api_client):
    body = api_client("a_viewer").get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "5m"}).json()
    assert body["results"] == [
        {"start": "2026-03-01T08:00:00+00:00", "count": 3, "avg": "2000", "min": "1000", "max": "3000", "sum": "6000"},
        {"start": "2026-03-01T08:05:00+00:00", "count": 2, "avg": "5000", "min": "4000", "max": "6000", "sum": "10000"},
    ]
    hourly = api_client("a_viewer").get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "1h"}).json()
    assert hourly["results"] == [
        {"start": "2026-03-01T08:00:00+00:00", "count": 5, "avg": "3200", "min": "1000", "max": "6000", "sum": "16000"}
    ]
    phase = api_client("a_viewer").get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "1h", "phase": "L1"}).json()
    assert [r["sum"] for r in phase["results"]] == ["230"]
    csv_text = api_client("a_viewer").get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "5m", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(csv_text.streaming_content).decode())))
    assert rows == [["start", "count", "avg", "min", "max", "sum"],
                    ["2026-03-01T08:00:00+00:00", "3", "2000", "1000", "3000", "6000"],
                    ["2026-03-01T08:05:00+00:00", "2", "5000", "4000", "6000", "10000"]]


def test_keyset_pages_cover_the_range_once_in_order(power, api_client):
    client = api_client("a_viewer")
    seen, cursor, pages = [], None, 0
    while True:
        params = {**RANGE, "limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/monitoring/readings/", params).json()
        seen += [(r["ts"], r["value"]) for r in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [v for _, v in seen] == ["1000.000000", "3000.000000", "2000.000000", "4000.000000", "6000.000000"]
    # a reading that arrives later in time appears on the next page of an ongoing walk, none repeats
    body = client.get("/api/monitoring/readings/", {**RANGE, "limit": 4}).json()
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(30, "Power.Active.Import", "10", "W")])
    rest = client.get("/api/monitoring/readings/", {**RANGE, "limit": 4, "cursor": body["next_cursor"]}).json()
    assert [r["value"] for r in rest["results"]] == ["6000.000000", "10.000000"] and rest["next_cursor"] is None
    assert client.get("/api/monitoring/readings/", {**RANGE, "cursor": "not-a-cursor"}).status_code == 400


def test_csv_export_of_raw_readings(power, api_client):
    response = api_client("a_viewer").get("/api/monitoring/readings/", {**RANGE, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "pile", "connector_id"]
    assert [r[7] for r in rows[1:]] == ["1000", "3000", "2000", "4000", "6000"]


@pytest.mark.parametrize("username, sees", [
    ("a_viewer", True), ("grid_manager", True), ("reg_manager", True), ("metro_manager", True),
    ("b_manager", False), ("grid2_manager", False),
])
def test_who_sees_pile_a1(power, api_client, username, sees):
    client = api_client(username)
    response = client.get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "1h"})
    assert response.status_code == (200 if sees else 400)
    state = client.get("/api/monitoring/state/").json()["results"]
    assert ("PILE-A1" in {r["pile"] for r in state}) is sees


def test_latest_state_and_bad_queries(power, api_client, token_client):
    assert api_client(None).get("/api/monitoring/state/").status_code == 401
    body = token_client("a_manager").get("/api/monitoring/state/", {"pile": "PILE-A1"}).json()
    [row] = body["results"]
    assert (row["connector_id"], row["power_w"]) == (1, "6000.000000")
    client = api_client("a_viewer")
    assert client.get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "7m"}).status_code == 400
    assert client.get("/api/monitoring/readings/", {**RANGE, "from": "yesterday"}).status_code == 400
    assert client.get("/api/monitoring/readings/", {**RANGE, "from": "2026-03-01T08:00:00"}).status_code == 400
    assert client.get("/api/monitoring/readings/", {**RANGE, "to": "2026-03-01T07:00:00Z"}).status_code == 400
    assert client.get("/api/monitoring/readings/aggregate/", {**RANGE, "interval": "1m", "to": "2030-01-01T00:00:00Z"}).status_code == 400
