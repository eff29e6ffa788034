"""One availability from the agreed intervals: the formula, the reads per group and who may see them,
the API, and an area's load curve."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ledger.services import node_submit
from monitoring.intervals.uptime import Uptime, of_sums
from monitoring.selectors import intervals
from registry.models import User
from tests.utils.ledger import commit_pending

UTC = dt.timezone.utc
LENGTH = dt.timedelta(seconds=900)
# A day three days ago in Shanghai (the consortium's zone), and 08:00 on it (a report's interval must be
# over at its block's time, which is now).
DAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() - dt.timedelta(days=3)
S = dt.datetime.combine(DAY, dt.time(8), tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.mark.parametrize("figures, ratio", [
    (Uptime(seconds=1000, reported=1000, up=900, outage=100, excluded=0), Decimal("0.900000")),
    # Outage inside an exclusion does not count against the operator.
    (Uptime(seconds=1000, reported=1000, up=900, outage=100, excluded=60), Decimal("0.960000")),
    # What no report covers is outage.
    (Uptime(seconds=1000, reported=500, up=500, outage=0, excluded=0), Decimal("0.500000")),
    (Uptime(seconds=3, reported=3, up=2, outage=1, excluded=0), Decimal("0.666667")),
    (Uptime(seconds=0, reported=0, up=0, outage=0, excluded=0), None),
])
def test_the_formula(figures, ratio):
    assert figures.ratio == ratio


def test_sums_of_day_rows_become_an_uptime():
    figures = of_sums(seconds=2000, sums={"available_s": 600, "occupied_s": 300, "offline_s": 100, "faulted_s": None,
                                          "excluded_s": 50})
    assert (figures.up, figures.outage, figures.reported, figures.unreported, figures.excluded) == (900, 100, 1000, 1000, 50)
    assert figures.counted_outage == 1050 and figures.ratio == Decimal("0.475000")


def report(n: int, **seconds):
    counts = {"available": 0, "occupied": 0, "faulted": 0, "unavailable": 0, "offline": 0, "unknown": 0, **seconds}
    node_submit(type="monitoring.interval_report", institution="OP-A", check=False, payload={
        "start": (S + n * LENGTH).isoformat(), "connectors": [{
            "pile": "PILE-A1", "connector": 1, "state": "available", "seconds": counts, "register_start_wh": 1000 + n,
            "register_end_wh": 1001 + n, "peak_w": 1000, "authorizations": 0, "sessions_started": 0,
            "sessions_ended": {}, "events": 0, "root": "", "signed_end": ""}]})


@pytest.mark.django_db
def test_uptime_per_group_counts_unreported_time_as_outage(world, api_client):
    report(0, available=900)
    report(1, available=600, offline=300)
    commit_pending()
    until = S + 2 * LENGTH
    regulator = User.objects.get(username="reg_manager")
    rows = intervals.uptime(user=regulator, by="connector", start_day=DAY, end_day=DAY, until=until)
    a1 = [row for row in rows if row["pile"] == "PILE-A1"]
    assert len(a1) == 1
    figures = a1[0]["uptime"]
    # Local midnight to 08:30: 30,600 s, of which 1,800 reported, 1,500 up.
    assert (figures.seconds, figures.reported, figures.up, figures.outage, figures.unreported) == (30600, 1800, 1500, 300, 28800)
    assert figures.ratio == Decimal("0.049020")
    # PILE-B1 (two connectors, never reported): all outage.
    b1 = [row["uptime"].ratio for row in rows if row["pile"] == "PILE-B1"]
    assert b1 == [Decimal("0.000000"), Decimal("0.000000")]
    by_operator = {row["operator"]: row for row in intervals.uptime(user=regulator, by="operator", start_day=DAY,
                                                                     end_day=DAY, until=until)}
    assert by_operator["OP-A"]["uptime"] == figures and by_operator["OP-A"]["connectors"] == 1
    assert by_operator["OP-B"]["uptime"].seconds == 2 * 30600

    # A competitor sees neither the rows nor the connectors of the other operator's piles.
    competitor = User.objects.get(username="b_manager")
    assert [row["pile"] for row in intervals.uptime(user=competitor, by="pile", start_day=DAY, end_day=DAY,
                                                    until=until)] == ["PILE-B1"]
    assert intervals.uptime(user=None, by="pile", start_day=DAY, end_day=DAY, until=until) == []

    # The API gives the same figures (the day is over by now, so `until` is the day's end).
    response = api_client("reg_manager").get("/api/monitoring/uptime/", {"by": "pile", "from": DAY.isoformat(),
                                                                          "to": DAY.isoformat(), "pile": "PILE-A1"})
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["pile"] == "PILE-A1" and row["uptime"]["reported"] == 1800 and row["uptime"]["seconds"] == 86400
    assert row["uptime"]["ratio"] == "0.017361"  # 1,500 s up of the day's 86,400
    assert api_client("b_manager").get("/api/monitoring/uptime/", {"pile": "PILE-A1", "from": DAY.isoformat(),
                                                                    "to": DAY.isoformat()}).json()["results"] == []
    assert api_client("reg_manager").get("/api/monitoring/uptime/", {"by": "galaxy"}).status_code == 400
    assert api_client("reg_manager").get("/api/monitoring/uptime/", {"from": "2030-3-1"}).status_code == 400


@pytest.mark.django_db
def test_an_area_load_curve_is_the_sum_of_the_reports(world, api_client):
    report(0, available=900)
    commit_pending()
    response = api_client("grid_manager").get("/api/monitoring/areas/AREA-1/load-curve/", {
        "from": S.isoformat(), "to": (S + LENGTH).isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["capacity_kw"] == "800.0"
    assert [(r["energy_wh"], r["average_w"], r["connectors"]) for r in body["results"]] == [(1, 4, 1)]
    assert api_client("grid_manager").get("/api/monitoring/areas/NOPE/load-curve/").status_code == 404


@pytest.mark.django_db
def test_the_load_page_shows_the_agreed_intervals_with_links(world, user_client):
    report(0, available=900)
    commit_pending()
    page = user_client("grid_manager").get("/monitoring/load/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="agreed-load"' in html and "/api/monitoring/areas/AREA-1/load-curve/" in html
    # 1 Wh in 900 s: 0.0 kW of 800, by 1 connector, in its block.
    assert "<td>0.0</td>" in html and "/api/ledger/blocks/" in html


@pytest.mark.django_db
def test_the_availability_page_shows_the_agreed_uptime_per_group_with_links(world, user_client):
    import re

    report(0, available=900)
    report(1, available=600, offline=300)
    commit_pending()
    client = user_client("reg_manager")
    params = {"start": dt.datetime.combine(DAY, dt.time(0)).isoformat(timespec="minutes"),
              "end": dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0)).isoformat(timespec="minutes")}

    def agreed(by: str) -> list[list[str]]:
        page = client.get("/monitoring/availability/", {**params, "by": by})
        assert page.status_code == 200
        table = page.content.decode().split('id="availability-agreed"')[1].split("</table>")[0]
        return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in table.split("<tbody>")[1].split("</tr>")[:-1]]

    rows = {re.sub(r"<.*?>", "", cells[0]): cells for cells in agreed("pile")}
    # PILE-A1: 1,500 s up of the day's 86,400 (the day is over): 1.74 %, 0.4 h up, 23.6 h outage counted.
    a1 = rows["PILE-A1"]
    assert "/piles/PILE-A1/" in a1[0]
    assert a1[1:6] == ["1", "1.74 %", "0.4", "23.6", "0.0"]
    assert rows["PILE-B1"][2] == "0.00 %"
    by_operator = {re.sub(r"<.*?>", "", cells[0]): cells for cells in agreed("operator")}
    assert by_operator["OP-A"][2] == "1.74 %" and "operator=OP-A" in by_operator["OP-A"][0]
    assert "/stations/" in agreed("station")[0][0] and "/grid-areas/AREA-1/" in agreed("area")[0][0]
    assert len(agreed("connector")) == 3  # PILE-A1's one connector, PILE-B1's two
    # A competitor's page lists only its own piles.
    page = user_client("b_manager").get("/monitoring/availability/", {**params, "by": "pile"}).content.decode()
    table = page.split('id="availability-agreed"')[1].split("</table>")[0]
    assert "PILE-B1" in table and "PILE-A1" not in table
