"""Claim pages and API: who sees what, the trail with block heights, bad input."""

from __future__ import annotations


import pytest

from ledger.models import Submission
from subsidy.models import Claim
from tests.settlement.month import local
from tests.subsidy.test_claims import POLICY, publish
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(world):
    from tests.settlement.month import Month

    publish(world)
    m = Month(world)
    m.prepare()
    m.online("PILE-A1")
    m.session("PILE-A1", local(2030, 3, 2, 9, 30), local(2030, 3, 2, 10, 30), 6000)
    m.session("PILE-A1", local(2030, 3, 31, 23), local(2030, 4, 1, 1), 4000)  # its block is in April
    m.report_availability()
    return m


def test_claim_flow_through_pages_and_api(claim, world, user_client, api_client):
    refused = api_client("reg_manager").post("/api/subsidy/claims/", {"period": "2030-03"}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["detail"] == (
        "Only a manager of a charge-point operator may do this.")
    bad = api_client("a_manager").post("/api/subsidy/claims/", {"period": "March"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["period"]
    early = api_client("a_manager").post("/api/subsidy/claims/", {"period": "2030-05"}, format="json")
    assert early.status_code == 400 and early.json()["error"]["fields"] == {
        "period": ["The period 2030-05 is not over yet on the ledger."]}
    chinese = api_client("a_manager").post("/api/subsidy/claims/", {"period": "2030-05"}, format="json",
                                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.json()["error"]["fields"] == {"period": ["账本上的结算周期 2030-05 尚未结束。"]}
    assert not Submission.objects.filter(type="subsidy.claim_submit").exists()
    response = user_client("a_manager").post("/subsidy/", {"period": "2030-03"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    block = commit_pending(at=local(2030, 4, 2))
    # Through the API, a second claim for the same pile and period is refused, keyed by field.
    again = api_client("a_manager").post("/api/subsidy/claims/", {"period": "2030-03"}, format="json")
    assert again.status_code == 400 and "A second claim" in again.json()["error"]["fields"]["piles"][0]
    claim = Claim.objects.get()
    assert str(claim.eligible_cny) == "701.60"  # (6 + 2) kWh x 0.2000 + 7 kW x 100.00
    page = user_client("a_manager").get(f"/subsidy/claims/{claim.uid}/")
    assert page.status_code == 200 and b"701.60" in page.content and f">{block.height}</a>".encode() in page.content
    assert b"decision-form" not in page.content
    # Another operator and a grid company see nothing of it.
    assert user_client("b_manager").get(f"/subsidy/claims/{claim.uid}/").status_code == 404
    assert api_client("grid_manager").get(f"/api/subsidy/claims/{claim.uid}/").status_code == 404
    assert api_client("b_manager").get("/api/subsidy/claims/").json()["results"] == []
    # The regulator decides through the API; the trail shows both heights.
    reg = api_client("reg_manager")
    unreasoned = reg.post(f"/api/subsidy/claims/{claim.uid}/decision/", {"decision": "reject"}, format="json")
    assert unreasoned.status_code == 400 and unreasoned.json() == {"error": {
        "status": 400, "code": "invalid", "detail": "Invalid input.", "fields": {"reason": ["A rejection needs a reason."]}}}
    ok = reg.post(f"/api/subsidy/claims/{claim.uid}/decision/",
                  {"decision": "approve", "payment_due_on": "2030-05-31", "reason": "ok"}, format="json")
    assert ok.status_code == 202 and ok.json()["status"] == "pending" and ok.json()["type"] == "subsidy.claim_decide"
    assert ok.json()["transaction"] == ok["Location"] == f"/api/ledger/transactions/{ok.json()['tx_id']}/"
    assert ok.json()["object"] == f"/api/subsidy/claims/{claim.uid}/"
    decided = commit_pending(at=local(2030, 4, 20))
    body = reg.get(f"/api/subsidy/claims/{claim.uid}/").json()
    assert body["status"] == "approved" and body["approved_cny"] == "701.60" and body["payment_due_on"] == "2030-05-31"
    assert [(s["action"], s["height"]) for s in body["trail"]] == [("submitted", block.height), ("approved", decided.height)]
    assert [line["pile"] for line in body["lines"]] == ["PILE-A1"]
    assert body["lines_page"] == {"count": 1, "page": 1, "pages": 1, "next": None, "previous": None}
    held = reg.get(f"/api/subsidy/claims/{claim.uid}/", {"held": "true"}).json()
    assert held["lines_page"]["count"] == len(held["lines"]) == sum(1 for line in body["lines"] if line["excluded_wh"])
    assert "held" in reg.get(f"/api/subsidy/claims/{claim.uid}/", {"held": "yes"}).json()["error"]["fields"]
    assert reg.get(f"/api/subsidy/claims/{claim.uid}/", {"page": 2}).status_code == 404
    assert reg.get(f"/api/subsidy/claims/{claim.uid}/", {"page_size": "0"}).status_code == 400
    listed = reg.get("/api/subsidy/claims/", {"page_size": 1}).json()
    assert (listed["count"], [c["uid"] for c in listed["results"]], listed["next"]) == (1, [str(claim.uid)], None)


def test_policy_page_is_for_the_regulator_to_publish(world, user_client):
    assert b"policy-form" not in user_client("a_manager").get("/subsidy/policies/").content
    assert user_client("a_manager").post("/subsidy/policies/", POLICY).status_code == 403
    assert user_client(None).get("/subsidy/policies/").status_code == 302
    response = user_client("reg_manager").post("/subsidy/policies/", {**POLICY, "note": "first"})
    assert response.status_code == 302
    commit_pending()
    page = user_client("a_manager").get("/subsidy/policies/")
    assert b"0.2000" in page.content and b"v1" in page.content
    response = user_client("reg_manager").post("/subsidy/policies/", {**POLICY, "min_availability": "2"})
    assert response.status_code == 200 and b"errorlist" in response.content
