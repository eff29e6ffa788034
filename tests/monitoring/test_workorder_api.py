"""Work orders, faults and webhooks through the REST API, with tokens as third parties use it."""

import pytest

from monitoring import ingest
from monitoring.models import Webhook, WorkOrder
from tests.monitoring.helpers import at
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(world):
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="InternalError", info="",
                         timestamp=at(0), source="ocpp1.6")
    commit_pending()
    return WorkOrder.objects.get()


def test_work_order_steps_over_the_api(order, token_client, api_client):
    engineer = token_client("a_manager", staff_role="engineer")
    url = f"/api/monitoring/work-orders/{order.uid}/"
    body = engineer.get(url).json()
    assert body["state"] == "opened" and body["severity"] == "major" and body["overdue"] is False
    assert body["allowed_steps"] == ["assigned"]
    assert [s["state"] for s in body["trail"]] == ["opened"]
    response = engineer.post(url, {"to": "assigned", "assignee": "someone"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    commit_pending()
    receipt = api_client("a_viewer").get(f"/api/ledger/transactions/{response.json()['tx_id']}/")
    assert receipt.status_code == 200
    assert engineer.get(url).json()["state"] == "assigned"
    refused = engineer.post(url, {"to": "verified"}, format="json")
    assert refused.status_code == 403
    assert engineer.post(url, {"to": "teleported"}, format="json").status_code == 400
    assert token_client("a_manager").post(url, {"to": "in_progress"}, format="json").status_code == 403  # a viewer token
    assert token_client("b_manager", staff_role="manager").get(url).status_code == 404
    listing = api_client("grid_manager").get("/api/monitoring/work-orders/", {"pile": "PILE-A1"}).json()["results"]
    assert [o["uid"] for o in listing] == [str(order.uid)]
    assert api_client("grid2_manager").get("/api/monitoring/work-orders/").json()["results"] == []
    paged = api_client("reg_manager").get("/api/monitoring/faults/", {"page_size": 1}).json()
    assert len(paged["results"]) == 1 and paged["count"] >= 1 and paged["previous"] is None
    faults = api_client("reg_manager").get("/api/monitoring/faults/").json()["results"]
    assert faults[0]["work_order"] == str(order.uid) and faults[0]["error_code"] == "InternalError"


def test_webhooks_api(world, api_client):
    manager = api_client("a_manager")
    # A public address (a name would need DNS, which the test machine may not have).
    created = manager.post("/api/monitoring/webhooks/", {"url": "https://93.184.215.14/x",
                                                          "filters": {"severities": ["critical"]}}, format="json")
    assert created.status_code == 201 and len(created.json()["secret"]) == 64
    listing = manager.get("/api/monitoring/webhooks/").json()["results"]
    assert [(h["url"], h["severities"]) for h in listing] == [("https://93.184.215.14/x", ["critical"])]
    assert "secret" not in listing[0]
    assert api_client("b_manager").get("/api/monitoring/webhooks/").json()["results"] == []
    hook_id = created.json()["id"]
    assert api_client("b_manager").delete(f"/api/monitoring/webhooks/{hook_id}/").status_code == 404
    assert api_client("a_viewer").post("/api/monitoring/webhooks/", {"url": "https://x.example"}, format="json").status_code == 403
    assert manager.post("/api/monitoring/webhooks/", {"url": "ftp://x.example"}, format="json").status_code == 400
    assert manager.delete(f"/api/monitoring/webhooks/{hook_id}/").status_code == 204
    assert not Webhook.objects.exists()
