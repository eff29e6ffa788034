"""Settlement writes through the REST API: the 202 of every write, the one error body for mistakes and
refusals, statements hidden from those who may not see them, and jobs only for their user."""

from __future__ import annotations

import pytest

from ledger.models import Submission
from settlement.services import billing
from settlement.models import AreaMeterReading, JobProgress, SealedTerms, ServiceFee, Statement, Tariff
from tests.settlement.month import local, ready_to_close
from tests.settlement.test_tariffs import PRICES, WINDOWS
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

API = "/api/settlement"


def error(response, status: int) -> dict:
    """The one error body, with the expected status."""
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["status"] == status and body["code"] and body["detail"]
    return body


def accepted(response, type_: str) -> dict:
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["type"]) == ("pending", type_)
    assert body["transaction"] == f"/api/ledger/transactions/{body['tx_id']}/" == response["Location"]
    assert Submission.objects.filter(tx_id=body["tx_id"], type=type_).exists()
    return body


@pytest.fixture
def month(world):
    return ready_to_close(world)


@pytest.fixture
def statement(month, world):
    billing.period_close(world.users["grid_manager"], area="AREA-1", period="2030-03")
    commit_pending(at=local(2030, 4, 2))
    return Statement.objects.get()


def test_publishing_tariffs_fees_meters_and_terms(world, api_client):
    grid, operator = api_client("grid_manager"), api_client("a_manager")
    tariff = {"area": "AREA-1", "valid_from": "2030-01-01", "windows": WINDOWS, "prices": PRICES}

    body = accepted(grid.post(f"{API}/tariffs/", tariff, format="json"), "settlement.tariff_publish")
    assert body["object"] == f"{API}/tariffs/?area=AREA-1"
    sent = Submission.objects.count()
    # Refusals keep the service's reason; mistakes are keyed by field; nothing is submitted for either.
    assert "does not own grid area AREA-1" in error(
        api_client("grid2_manager").post(f"{API}/tariffs/", tariff, format="json"), 403)["detail"]
    error(operator.post(f"{API}/tariffs/", tariff, format="json"), 403)
    gap = error(grid.post(f"{API}/tariffs/", {**tariff, "windows": WINDOWS[1:]}, format="json"), 400)
    assert "gap or overlap" in gap["fields"]["windows"][0]
    shapeless = error(grid.post(f"{API}/tariffs/", {**tariff, "windows": [{"from": "00:00", "band": "noon"}]},
                                format="json"), 400)
    assert set(shapeless["fields"]["windows"]["0"]) == {"to", "band"}  # keyed by the item's index
    error(grid.post(f"{API}/tariffs/", {**tariff, "valid_from": "soon"}, format="json"), 400)
    assert Submission.objects.count() == sent
    commit_pending(at=local(2030, 1, 2))
    assert [t["valid_from"] for t in grid.get(body["object"]).json()["results"]] == ["2030-01-01"]
    # The contract's dry run refuses a second tariff from the same day: a 400 with its reason.
    again = error(grid.post(f"{API}/tariffs/", tariff, format="json"), 400)
    assert again["fields"] == {"non_field_errors": ["area AREA-1 already has a tariff from 2030-01-01"]}

    fee = {"valid_from": "2030-02-01", "per_kwh": "0.80000"}
    accepted(operator.post(f"{API}/service-fees/", fee, format="json"), "settlement.service_fee_publish")
    error(api_client("a_viewer").post(f"{API}/service-fees/", fee, format="json"), 403)
    error(grid.post(f"{API}/service-fees/", fee, format="json"), 403)
    assert "per_kwh" in error(operator.post(f"{API}/service-fees/", {**fee, "per_kwh": "cheap"}, format="json"),
                              400)["fields"]

    meter = {"area": "AREA-1", "period": "2030-03", "energy_wh": 15000}
    assert error(grid.post(f"{API}/area-meters/", {**meter, "period": "2030-13"}, format="json"),
                 400)["fields"] == {"period": ["Give a period as YYYY-MM."]}
    assert "energy_wh" in error(grid.post(f"{API}/area-meters/", {**meter, "energy_wh": -1}, format="json"),
                                400)["fields"]
    body = accepted(grid.post(f"{API}/area-meters/", meter, format="json"), "settlement.area_meter_report")
    assert body["object"] == f"{API}/statements/?area=AREA-1&period=2030-03"

    terms = {"area": "AREA-1", "operator": "op-a", "valid_from": "2030-01-01", "prices": {"peak": "0.95"},
             "discount_percent": "2.5", "bank": {"iban": "CN00 0000 0000 0001"}}
    assert error(operator.post(f"{API}/terms/", {**terms, "prices": {"noon": "0.5"}}, format="json"),
                 400)["fields"] == {"prices": ["Unknown bands: noon."]}
    assert error(grid.post(f"{API}/terms/", {**terms, "operator": "METRO"}, format="json"),
                 400)["fields"] == {"operator": ["METRO is not an operator of the consortium."]}
    error(api_client("b_manager").post(f"{API}/terms/", terms, format="json"), 403)
    accepted(operator.post(f"{API}/terms/", terms, format="json"), "settlement.terms_publish")

    commit_pending(at=local(2030, 4, 1))
    assert Tariff.objects.count() == ServiceFee.objects.count() == SealedTerms.objects.count() == 1
    assert AreaMeterReading.objects.get().energy_wh == 15000
    assert "CN00" not in str(Submission.objects.get(type="settlement.terms_publish").body)
    assert api_client(None).post(f"{API}/tariffs/", tariff, format="json").status_code == 401


def test_closing_confirming_disputing_and_correcting(month, world, api_client):
    grid, operator = api_client("grid_manager"), api_client("a_manager")
    close = {"area": "AREA-1", "period": "2030-03"}
    error(api_client("a_viewer").post(f"{API}/closings/", close, format="json"), 403)
    assert "no piles in grid area AREA-1" in error(
        api_client("b_manager").post(f"{API}/closings/", close, format="json"), 403)["detail"]
    assert "not over yet" in error(grid.post(f"{API}/closings/", {**close, "period": "2030-04"}, format="json"),
                                   400)["fields"]["period"][0]
    assert not Submission.objects.filter(type="settlement.period_close").exists()
    body = accepted(grid.post(f"{API}/closings/", close, format="json"), "settlement.period_close")
    commit_pending(at=local(2030, 4, 2))
    [listed] = grid.get(body["object"]).json()["results"]
    statement = Statement.objects.get()
    assert listed["uid"] == str(statement.uid) and listed["tariff_amount_cny"] == "7.29"  # 4.04 + 3.25
    uid = statement.uid

    sent = Submission.objects.count()
    # Who may not see the statement gets a 404, exactly like a statement that does not exist.
    for outsider in ("b_manager", "metro_manager", "grid2_manager"):
        error(api_client(outsider).post(f"{API}/statements/{uid}/confirm/"), 404)
        error(api_client(outsider).get(f"{API}/statements/{uid}/"), 404)
    error(operator.post(f"{API}/statements/00000000-0000-0000-0000-000000000000/confirm/"), 404)
    # The regulator sees it but is no party; a viewer of a party may not press the button.
    error(api_client("reg_manager").post(f"{API}/statements/{uid}/confirm/"), 403)
    error(api_client("a_viewer").post(f"{API}/statements/{uid}/confirm/"), 403)
    # Malformed disputes: field errors, nothing submitted.
    dispute = f"{API}/statements/{uid}/dispute/"
    no_reason = error(grid.post(dispute, {"items": [{"pile": "PILE-A1", "band": "peak"}]}, format="json"), 400)
    assert no_reason["fields"] == {"items": {"0": {"reason": ["This field is required."]}}}
    assert "items" in error(grid.post(dispute, {"items": []}, format="json"), 400)["fields"]
    assert "items" in error(grid.post(dispute, {"items": "all of it"}, format="json"), 400)["fields"]
    blank = error(grid.post(dispute, {"items": [{"pile": "PILE-A1", "band": "peak", "reason": "  "}]},
                            format="json"), 400)
    assert blank["fields"] == {"items": {"0": {"reason": ["This field may not be blank."]}}}
    unknown = error(grid.post(dispute, {"items": [{"pile": "PILE-A1", "band": "valley", "reason": "x"}]},
                              format="json"), 400)
    assert unknown["fields"] == {"items": ["The statement has no item PILE-A1 valley."]}
    error(api_client("b_manager").post(dispute, {"items": [{"pile": "PILE-A1", "band": "peak", "reason": "x"}]},
                                       format="json"), 404)
    assert Submission.objects.count() == sent

    body = accepted(operator.post(f"{API}/statements/{uid}/confirm/"), "settlement.statement_confirm")
    assert body["object"] == f"{API}/statements/{uid}/"
    accepted(grid.post(dispute, {"items": [{"pile": "PILE-A1", "band": "peak", "reason": "meter shows less"}]},
                       format="json"), "settlement.statement_dispute")
    commit_pending(at=local(2030, 4, 3))
    detail = grid.get(f"{API}/statements/{uid}/").json()
    assert detail["status"] == "disputed" and detail["operator_hash"]
    assert sorted(s["action"] for s in detail["trail"]) == ["closed", "confirmed", "disputed"]
    assert {i["band"]: i["disputed"] for i in detail["items"]} == {"flat": "", "peak": "GRID-1: meter shows less"}
    assert detail["items_page"] == {"count": 2, "page": 1, "pages": 1, "next": None, "previous": None}
    # Items a page at a time: the money is still the whole statement's.
    first = grid.get(f"{API}/statements/{uid}/", {"page_size": 1}).json()
    assert [i["band"] for i in first["items"]] == ["flat"] and first["money"] == detail["money"]
    assert first["items_page"]["pages"] == 2 and first["items_page"]["previous"] is None
    second = grid.get(first["items_page"]["next"]).json()
    assert [i["band"] for i in second["items"]] == ["peak"] and second["items_page"]["next"] is None
    assert second["items_page"]["previous"].endswith(f"/statements/{uid}/?page=1&page_size=1")
    assert error(grid.get(f"{API}/statements/{uid}/", {"page": 3}), 404)["detail"] == "Invalid page."
    assert error(grid.get(f"{API}/statements/{uid}/", {"page": "last"}), 404)["detail"] == "Invalid page."
    for size in ("0", "-1", "many"):
        assert "page_size" in error(grid.get(f"{API}/statements/{uid}/", {"page_size": size}), 400)["fields"]

    correct = f"{API}/statements/{uid}/correct/"
    assert error(grid.post(correct, {"reason": " "}, format="json"), 400)["fields"] == {
        "reason": ["This field may not be blank."]}
    body = accepted(grid.post(correct, {"reason": "recounted"}, format="json"), "settlement.statement_correct")
    assert body["object"] == f"{API}/statements/?corrects={uid}"
    commit_pending(at=local(2030, 4, 4))
    [fresh] = grid.get(body["object"]).json()["results"]
    assert (fresh["corrects"], fresh["correction_reason"], fresh["status"]) == (str(uid), "recounted", "open")
    assert "corrects" in error(grid.get(f"{API}/statements/?corrects=nope"), 400)["fields"]
    # The contract's own refusal, from the dry run: a corrected statement cannot be confirmed.
    assert error(operator.post(f"{API}/statements/{uid}/confirm/"), 400)["fields"] == {
        "non_field_errors": ["the statement is corrected"]}
    assert api_client(None).post(f"{API}/statements/{uid}/confirm/").status_code == 401


def test_export_and_close_jobs_belong_to_their_user(statement, api_client):
    operator = api_client("a_manager")
    exports = f"{API}/statements/{statement.uid}/exports/"
    assert "format" in error(operator.post(exports, {"format": "docx"}, format="json"), 400)["fields"]
    error(api_client("b_manager").post(exports, {"format": "pdf"}, format="json"), 404)
    assert not JobProgress.objects.exists()

    response = operator.post(exports, {"format": "pdf"}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["kind"], job["state"], job["percent"], job["download"]) == ("export-pdf", "queued", 0, None)
    assert job["url"] == f"{API}/jobs/{job['uid']}/" == response["Location"]
    assert operator.get(job["url"]).json() == job
    for other in ("a_viewer", "b_manager", "reg_manager"):  # even a colleague's job is not theirs
        error(api_client(other).get(job["url"]), 404)
        error(api_client(other).get(f"{job['url']}download/"), 404)
    assert "no file" in error(operator.get(f"{job['url']}download/"), 404)["detail"]
    # The regulator sees every statement, so may export one (its own job).
    assert api_client("reg_manager").post(exports, {"format": "csv"}, format="json").status_code == 202

    close_areas = f"{API}/jobs/close-areas/"
    for refused in ("a_viewer", "reg_manager", "metro_manager"):
        error(api_client(refused).post(close_areas, {"period": "2030-03"}, format="json"), 403)
    grid = api_client("grid_manager")
    assert error(grid.post(close_areas, {"period": "March"}, format="json"), 400)["fields"] == {
        "period": ["Give a period as YYYY-MM."]}
    chinese = grid.post(close_areas, {"period": "March"}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert error(chinese, 400)["fields"] == {"period": ["请按 YYYY-MM 格式填写结算周期。"]}
    response = grid.post(close_areas, {"period": "2030-04"}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "close" and response.json()["total"] == 1
    assert sorted(JobProgress.objects.values_list("kind", flat=True)) == ["close", "export-csv", "export-pdf"]


def test_sync_csv_export_answers_a_client_asking_for_csv(statement, api_client):
    response = api_client("grid_manager").get(f"{API}/statements/{statement.uid}/csv/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response.content.startswith(f"statement,{statement.uid}".encode())
