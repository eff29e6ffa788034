"""The upload API (real token authentication) and the staff pages, with commits through the test node."""

from __future__ import annotations

import io
import json

import pytest

from calibration.models import RecordDraft, VerificationRecord
from ledger.models import Submission
from tests.calibration.helpers import ALL_OK, CHECKS, box_record
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


def filings():
    return Submission.objects.filter(type="calibration.record_file")


@pytest.fixture
def metro_api(world, token_client):
    return token_client("metro_manager", staff_role="engineer")


def _filing(record, **extra):
    return {"record": record, "kind": "first", "observations": ALL_OK, **extra}


def test_upload_pending_then_committed(metro_api):
    r = metro_api.post("/api/calibration/records/", _filing(box_record(sequence=1)), format="json")
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["status"] == "pending" and body["height"] is None
    assert metro_api.get(body["url"]).json()["status"] == "pending"
    block = commit_pending()
    done = metro_api.get(body["url"]).json()
    assert done["status"] == "applied" and done["height"] == block.height
    assert done["record"]["conclusion"] == "pass" and done["record"]["height"] == block.height
    listing = metro_api.get("/api/calibration/records/?pile=PILE-A1").json()
    assert [r["id"] for r in listing["results"]] == [done["record"]["id"]] and listing["count"] == 1
    compliance = metro_api.get(f"/api/calibration/compliance/PILE-A1/?height={block.height}").json()
    assert compliance["status"] == "compliant" and compliance["compliant"] is True
    assert metro_api.get(f"/api/calibration/compliance/PILE-A1/?height={block.height - 1}").json()["status"] == \
        "unverified"


def test_bare_record_becomes_a_draft(metro_api):
    r = metro_api.post("/api/calibration/records/", box_record(sequence=3), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "draft" and "/calibration/drafts/" in r.json()["url"]
    assert RecordDraft.objects.get().measurement["sequence"] == 3
    assert not filings().exists()


def test_upload_errors_are_clear_and_lose_nothing(world, metro_api, token_client):
    record = box_record(sequence=5)
    forged = {**record, "billing": {**record["billing"], "billed_cny": "0.0100"}}
    cases = [
        (_filing(forged), 400, "signature does not verify"),
        (_filing(box_record(sequence=6, pile="PILE-NOPE")), 400, "unknown pile PILE-NOPE"),
        (_filing({**record, "units": {**record["units"], "energy": "kWh"}}), 400, "kWh"),
        (_filing(record, observations={**ALL_OK, "insulation_mohm": 25.0}), 400, "insulation"),
        (_filing(record, observations={"visual_checks": {}, "insulation_mohm": "25.0"}), 400, "incomplete"),
    ]
    for body, code, message in cases:
        r = metro_api.post("/api/calibration/records/", body, format="json")
        assert (r.status_code, message in r.json()["error"]["detail"]) == (code, True), r.content
    assert not filings().exists()
    assert metro_api.post("/api/calibration/records/", _filing(record), format="json").status_code == 202
    dup = metro_api.post("/api/calibration/records/", _filing(record), format="json")
    assert dup.status_code == 409 and "awaits commit" in dup.json()["error"]["detail"]
    commit_pending()
    replay = metro_api.post("/api/calibration/records/", _filing(box_record(sequence=4)), format="json")
    assert replay.status_code == 409 and "replayed" in replay.json()["error"]["detail"]
    again = metro_api.post("/api/calibration/records/", _filing(record), format="json")
    assert again.status_code == 409 and "already filed" in again.json()["error"]["detail"]
    assert VerificationRecord.objects.count() == 1 and filings().count() == 1
    operator = token_client("a_manager", staff_role="manager")
    r = operator.post("/api/calibration/records/", _filing(box_record(sequence=9)), format="json")
    assert r.status_code == 403
    unauthenticated = metro_api.__class__()
    assert unauthenticated.post("/api/calibration/records/", _filing(record), format="json").status_code == 401


def _form_data(**extra):
    data = {"pile": "PILE-A1", "test_box": "TB-1", "kind": "first", "time_of_use": "on", "insulation_mohm": "25.0",
            **{f"check_{c}": "yes" for c in CHECKS}}
    data.update(extra)
    return data


def _upload(record) -> io.BytesIO:
    f = io.BytesIO(json.dumps(record).encode())
    f.name = "record.json"
    return f


def test_form_import_preview_file_and_certificate(world, user_client):
    client = user_client("metro_manager")
    r = client.get("/calibration/new/")
    draft_url = r["Location"]
    found = client.get(draft_url + "?q=Century")
    assert "PILE-A1" in found.content.decode() and "PILE-B1" not in found.content.decode()
    failing = box_record(sequence=1, indicated=(1_000_000, 1_000_000, 510_000))  # +2.00 %: at the class 2 limit
    r = client.post(draft_url, {**_form_data(check_display="no"), "record_file": _upload(failing), "action": "check"})
    page = r.content.decode()
    assert r.status_code == 200 and 'data-item="working_error"' in page
    assert "Imported record" in page
    # The display check failed: the preview says so, and nothing was submitted.
    assert not filings().exists()
    r = client.post(draft_url, {**_form_data(), "action": "file"})
    assert r.status_code == 302 and "/calibration/submissions/" in r["Location"]
    pending = client.get(r["Location"]).content.decode()
    assert 'data-status="pending"' in pending
    block = commit_pending()
    done = client.get(r["Location"]).content.decode()
    assert 'data-status="applied"' in done and f"block {block.height}" in done
    record = VerificationRecord.objects.get()
    assert record.conclusion == "pass"  # +2.00 % exactly at the limit passes
    cert = client.get(f"/calibration/records/{record.uid}/certificate/").content.decode()
    assert "Certificate of verification" in cert and "<svg" in cert and str(record.next_due_on) in cert
    pdf = client.get(f"/calibration/records/{record.uid}/certificate.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    proof = user_client(None).get(f"/calibration/proof/{record.uid}/?format=json").json()
    assert proof["transaction"]["block_height"] == block.height and proof["conclusion"] == "pass"
    assert proof["transaction"]["receipt"]["tx_id"] == record.tx_id


def test_form_keeps_a_draft_on_wrong_input(world, user_client):
    client = user_client("metro_manager")
    draft_url = client.get("/calibration/new/")["Location"]
    r = client.post(draft_url, {**_form_data(insulation_mohm="lots"), "load_points": "1.0, 1010 Wh",
                                "action": "file"})
    assert r.status_code == 200
    draft = RecordDraft.objects.get()
    assert draft.pile_code == "PILE-A1" and draft.problems and not filings().exists()
    r = client.post(draft_url, {**_form_data(), "load_points": "1.000000, 1.010000\n1.0, 1.0\n0.5, 0.5",
                                "indication_standard_kwh": "2.5", "indication_displayed_kwh": "2.5",
                                "billing_energy_kwh": "2.5", "tariff": "0.8000", "billed_cny": "2.0000",
                                "clock_error_s": "1.5", "action": "check"})
    page = r.content.decode()
    assert 'data-item="working_error"' in page and "no test box signature" in page
    r = client.post(draft_url, {**_form_data(), "action": "file"})
    assert r.status_code == 200 and not filings().exists()
    # An imported file in the wrong units is refused with the reason; the draft stays.
    record = box_record(sequence=1)
    in_kwh = {**record, "units": {**record["units"], "energy": "kWh"}}
    r = client.post(draft_url, {**_form_data(), "record_file": _upload(in_kwh), "action": "file"})
    assert r.status_code == 200 and "kWh" in r.content.decode() and "mWh" in r.content.decode()
    assert RecordDraft.objects.get().measurement is None and not filings().exists()


def test_non_metrology_cannot_use_the_form(world, user_client):
    client = user_client("a_manager")
    assert client.get("/calibration/new/").status_code == 403
    draft = RecordDraft.objects.create(owner=world.users["metro_manager"], pile_code="PILE-A1")
    assert client.post(f"/calibration/drafts/{draft.pk}/", {**_form_data(), "action": "file"}).status_code == 403
    assert user_client("reg_manager").get("/calibration/new/").status_code == 403


def test_lists_operator_sees_own_regulator_all(world, user_client, metro_api):
    metro_api.post("/api/calibration/records/",
                   _filing(box_record(sequence=1, indicated=(1_000_000, 1_030_000, 500_000))), format="json")
    commit_pending()
    own = user_client("a_manager").get("/calibration/?state=failed").content.decode()
    assert 'data-pile="PILE-A1"' in own
    other = user_client("b_manager").get("/calibration/").content.decode()
    assert 'data-pile="PILE-A1"' not in other and 'data-pile="PILE-B1"' in other
    reg = user_client("reg_manager").get("/calibration/").content.decode()
    assert 'data-pile="PILE-A1"' in reg and 'data-pile="PILE-B1"' in reg
    assert 'data-pile="PILE-A1"' not in user_client("reg_manager").get("/calibration/?state=passed").content.decode()
    assert 'data-pile="PILE-A1"' not in user_client("reg_manager").get("/calibration/?area=AREA-2").content.decode()
    record = VerificationRecord.objects.get()
    assert user_client("b_manager").get(f"/calibration/records/{record.uid}/").status_code == 404
    page = user_client("a_manager").get(f"/calibration/records/{record.uid}/certificate/").content.decode()
    assert "Notice of non-conformity" in page
