"""Statement pages, API, exports and the close job with its progress row."""

from __future__ import annotations

import datetime as dt

import pytest

from settlement.services import billing
from settlement.tasks import close_areas, export_statement
from settlement.models import JobProgress, Statement
from tests.settlement.month import Month, local
from tests.settlement.test_statements import TERMS
from tests.settlement.test_tariffs import PRICES, WINDOWS
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(world):
    billing.tariff_publish(world.users["grid_manager"], area="AREA-1", valid_from=dt.date(2030, 1, 1),
                           windows=WINDOWS, prices=PRICES)
    billing.terms_publish(world.users["grid_manager"], area="AREA-1", operator="OP-A", valid_from=dt.date(2030, 1, 1),
                          terms=TERMS)
    commit_pending(at=local(2030, 1, 2))
    m = Month(world)
    m.prepare()
    m.online("PILE-A1")
    m.session("PILE-A1", local(2030, 3, 2, 9, 30), local(2030, 3, 2, 10, 30), 6000)
    m.session("PILE-A1", local(2030, 3, 31, 23), local(2030, 4, 1, 1), 4000)
    return m


def test_close_job_progress_pages_and_exports(month, world, user_client, api_client):
    grid = user_client("grid_manager")
    assert user_client("reg_manager").post("/settlement/", {"period": "2030-03"}).status_code == 403
    response = grid.post("/settlement/", {"period": "2030-03"})
    assert response.status_code == 302
    job = JobProgress.objects.get()
    assert response.url == f"/settlement/jobs/{job.uid}/"
    assert grid.get(response.url).status_code == 200
    assert grid.get(f"/settlement/jobs/{job.uid}/status/").json()["state"] == "queued"
    assert user_client("a_manager").get(f"/settlement/jobs/{job.uid}/status/").status_code == 404
    close_areas.apply(args=[str(job.uid), world.users["grid_manager"].pk, "2030-03", ["AREA-1"]])
    status = grid.get(f"/settlement/jobs/{job.uid}/status/").json()
    assert (status["state"], status["done"], status["total"], status["percent"]) == ("done", 1, 1, 100)
    commit_pending(at=local(2030, 4, 2))
    statement = Statement.objects.get()
    # Flat: 3000 + 2000 Wh at 0.674 = 3.37; peak: 3000 Wh at 1.082 = 3.246 -> 3.25; tariff total 6.62.
    # Under the terms: peak at 0.95 = 2.85; 6.22 less 2.5 % (0.1555 -> 0.16) = 6.06.
    page = user_client("a_manager").get(f"/settlement/statements/{statement.uid}/")
    assert page.status_code == 200 and b"6.62" in page.content and b'id="total">6.06' in page.content
    assert b"confirm-form" in page.content
    # The regulator reads the page (and could read the terms with its own node's key) but acts on nothing.
    reg_page = user_client("reg_manager").get(f"/settlement/statements/{statement.uid}/")
    assert reg_page.status_code == 200 and b"confirm-form" not in reg_page.content
    assert user_client("b_manager").get(f"/settlement/statements/{statement.uid}/").status_code == 404
    assert user_client("grid2_manager").get(f"/settlement/statements/{statement.uid}/").status_code == 404
    assert user_client("b_manager").post(f"/settlement/statements/{statement.uid}/", {"action": "confirm"}).status_code == 404

    body = api_client("a_manager").get(f"/api/settlement/statements/{statement.uid}/").json()
    assert body["money"] == {"with_terms": True, "subtotal": "6.22", "discount": "0.16", "total": "6.06"}
    assert [(i["band"], i["energy_wh"], i["tariff_amount_cny"]) for i in body["items"]] == [
        ("flat", 5000, "3.37"), ("peak", 3000, "3.25")]
    assert api_client("grid2_manager").get("/api/settlement/statements/").json()["results"] == []
    csv_text = api_client("a_manager").get(f"/api/settlement/statements/{statement.uid}/csv/").content.decode()
    assert "PILE-A1,flat,5000,0,0.67400,3.37,0.67400,3.37," in csv_text and "total,6.06" in csv_text
    pdf = user_client("a_manager").get(f"/settlement/statements/{statement.uid}/export.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The PDF as a background job: progress row, then the download.
    response = user_client("a_manager").post(f"/settlement/statements/{statement.uid}/", {"action": "pdf"})
    job = JobProgress.objects.get(kind="export-pdf")
    export_statement.apply(args=[str(job.uid), world.users["a_manager"].pk, str(statement.uid), "pdf"])
    download = user_client("a_manager").get(f"/settlement/jobs/{job.uid}/download/")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")

    # Confirm from the page: a pending submission, then the operator's hash on the statement.
    user_client("a_manager").post(f"/settlement/statements/{statement.uid}/", {"action": "confirm"})
    commit_pending(at=local(2030, 4, 3))
    statement.refresh_from_db()
    assert len(statement.operator_hash) == 64 and statement.status == "open"
    page = user_client("grid_manager").post(f"/settlement/statements/{statement.uid}/",
                                            {"action": "dispute", "item": "PILE-A1|peak", "reason": "meter says less"})
    assert page.status_code == 302
    commit_pending(at=local(2030, 4, 4))
    statement.refresh_from_db()
    assert statement.status == "disputed"
    # Corrected, the statement takes no confirmation: the contract's refusal is said on the page.
    user_client("grid_manager").post(f"/settlement/statements/{statement.uid}/",
                                     {"action": "correct", "reason": "meter replaced on the 20th"})
    commit_pending(at=local(2030, 4, 5))
    page = user_client("a_manager").post(f"/settlement/statements/{statement.uid}/", {"action": "confirm"},
                                         follow=True)
    assert page.status_code == 200 and b"the statement is corrected" in page.content


def test_publish_page_tariff_meter_and_terms(world, user_client):
    from settlement.models import AreaMeterReading, SealedTerms, Tariff

    assert user_client("reg_manager").get("/settlement/publish/").status_code == 403
    grid = user_client("grid_manager")
    page = grid.get("/settlement/publish/")
    assert page.status_code == 200 and b"tariff-form" in page.content
    assert b"tariff-form" not in user_client("a_manager").get("/settlement/publish/").content
    bad = grid.post("/settlement/publish/", {"form": "tariff", "tariff-area": "AREA-1", "tariff-valid_from": "2030-01-01",
                                             "tariff-windows": "00:00-12:00 peak", "tariff-peak": "1"})
    assert bad.status_code == 200 and b"cover the whole day" in bad.content
    # GRID-1 cannot pick GRID-2's area.
    other = grid.post("/settlement/publish/", {"form": "meter", "meter-area": "AREA-2", "meter-period": "2030-03",
                                               "meter-energy_wh": "5"})
    assert other.status_code == 200 and b"errorlist" in other.content
    assert grid.post("/settlement/publish/", {
        "form": "tariff", "tariff-area": "AREA-1", "tariff-valid_from": "2030-01-01",
        "tariff-windows": "00:00-08:00 valley\n08:00-24:00 peak", "tariff-peak": "1.1", "tariff-valley": "0.3"}
    ).status_code == 302
    assert grid.post("/settlement/publish/", {"form": "meter", "meter-area": "AREA-1", "meter-period": "2030-03",
                                              "meter-energy_wh": "15000"}).status_code == 302
    assert user_client("a_manager").post("/settlement/publish/", {
        "form": "terms", "terms-area": "AREA-1", "terms-operator": "OP-A", "terms-valid_from": "2030-01-01",
        "terms-peak": "0.9", "terms-discount_percent": "1.5", "terms-bank": "account 1"}).status_code == 302
    commit_pending()
    tariff = Tariff.objects.get()
    assert tariff.prices == {"peak": "1.1", "valley": "0.3"} and len(tariff.windows) == 2
    assert AreaMeterReading.objects.get().energy_wh == 15000
    terms = SealedTerms.objects.get()
    assert terms.published_by == "OP-A" and "account" not in str(terms.sealed)
