"""The O&M pages: work order list and detail with its trail, step forms, availability, load, alerts."""

import datetime as dt

import pytest

from ledger.models import Submission
from monitoring import ingest
from monitoring.models import WorkOrder
from tests.monitoring.helpers import at
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(world):
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="PowerMeterFailure", info="",
                         timestamp=at(0), source="ocpp1.6")
    commit_pending()
    return WorkOrder.objects.get()


def test_list_and_detail_for_the_operator_only(order, user_client):
    page = user_client("a_viewer").get("/monitoring/work-orders/").content.decode()
    assert order.short_id in page and "PILE-A1" in page and "badge-bad\">Overdue" not in page
    assert order.short_id not in user_client("b_manager").get("/monitoring/work-orders/").content.decode()
    assert user_client("b_manager").get(order.get_absolute_url()).status_code == 404
    detail = user_client("a_viewer").get(order.get_absolute_url()).content.decode()
    assert 'id="trail"' in detail and 'id="step-form"' not in detail  # a viewer only reads
    assert user_client(None).get("/monitoring/work-orders/").status_code == 302
    overdue = user_client("a_viewer").get("/monitoring/work-orders/", {"overdue": "on"}).content.decode()
    assert order.short_id not in overdue
    WorkOrder.objects.filter(pk=order.pk).update(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert "badge-bad\">Overdue" in user_client("a_viewer").get("/monitoring/work-orders/").content.decode()


def test_step_form_submits_and_trail_shows_heights(order, user_client):
    client = user_client("a_manager")
    detail = client.get(order.get_absolute_url()).content.decode()
    assert 'id="step-form"' in detail and 'value="assigned"' in detail and 'value="verified"' not in detail
    response = client.post(order.get_absolute_url(), {"to": "assigned", "assignee": "a_manager", "note": ""})
    assert response.status_code == 302 and "/ledger/" in response["Location"]
    assert Submission.objects.filter(type="monitoring.workorder_step", status="pending").count() == 1
    block = commit_pending()
    detail = client.get(order.get_absolute_url()).content.decode()
    assert f">{block.height}</a>" in detail and "a_manager" in detail
    # a missing assignee is a clear error, nothing submitted
    order.refresh_from_db()
    response = client.post(order.get_absolute_url(), {"to": "assigned", "assignee": ""}, follow=True)
    assert "Name the person" in response.content.decode()
    # an operator's viewer may not post at all
    assert user_client("a_viewer").post(order.get_absolute_url(), {"to": "in_progress"}).status_code == 403


def test_metrology_may_verify_a_metering_fault_repair(order, user_client, world):
    from monitoring.services import workorders

    assert order.fault.metering
    for to in ("assigned", "in_progress", "resolved"):
        workorders.workorder_step(actor=world.users["a_manager"], work_order=order, to=to, assignee="a_manager")
        commit_pending()
        order.refresh_from_db()
    detail = user_client("metro_manager").get(order.get_absolute_url()).content.decode()
    assert 'value="verified"' in detail
    user_client("metro_manager").post(order.get_absolute_url(), {"to": "verified"})
    commit_pending()
    order.refresh_from_db()
    assert order.state == "verified" and order.steps.order_by("-height").first().institution == "METRO"


def test_alerts_availability_and_load_pages(order, user_client):
    client = user_client("a_manager")
    alerts = client.get("/monitoring/alerts/").content.decode()
    assert "monitoring/alerts.js" in alerts and "alerts-body" in alerts
    availability = client.get("/monitoring/availability/").content.decode()
    assert 'id="availability"' in availability and "PILE-A1" in availability and "PILE-B1" not in availability
    grid = user_client("grid_manager").get("/monitoring/load/").content.decode()
    assert 'name="percent"' in grid and "AREA-1" in grid
    assert 'name="percent"' not in client.get("/monitoring/load/").content.decode()
    response = user_client("grid_manager").post("/monitoring/load/", {"area": "AREA-1", "percent": "75.5"})
    assert response.status_code == 302
    commit_pending()
    from monitoring.models import AreaLoadThreshold

    assert AreaLoadThreshold.objects.get().percent == 75.5
