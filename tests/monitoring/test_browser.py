"""A real browser on a phone-sized screen keeps the live alerts page open: a fault appears as
reported, then as confirmed with its block height, over the same websocket a third party uses."""

import pytest
from django.test import Client

from monitoring import ingest
from tests.gateway.live import live_server
from tests.monitoring.helpers import at
from tests.utils.browser import phone_context
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    """A phone-sized Chromium context; the test fails on any Content-Security-Policy violation."""
    with phone_context(monkeypatch) as context:
        yield context


def test_live_alerts_page_from_a_phone(world, page, tmp_path):
    client = Client()
    client.force_login(world.users["a_viewer"])
    with live_server() as ws_url:
        url = ws_url.replace("ws://", "http://")
        page.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])
        tab = page.new_page()
        tab.goto(f"{url}/monitoring/alerts/")
        tab.wait_for_selector("#alerts-status.badge-ok", timeout=15_000)
        ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="HighTemperature",
                             info="", timestamp=at(0), source="ocpp1.6")
        ingest.record_status(pile_code="PILE-B1", connector_id=1, status="Faulted", error_code="GroundFailure",
                             info="", timestamp=at(0), source="ocpp1.6")  # another operator's pile
        row = tab.wait_for_selector("#alerts-body tr:has-text('PILE-A1')", timeout=10_000)
        assert "reported" in row.inner_text()
        block = commit_pending()
        tab.wait_for_selector(f"#alerts-body tr:has-text('confirmed'):has-text('{block.height}')", timeout=10_000)
        assert "PILE-B1" not in tab.inner_text("#alerts-body")
        assert tab.locator("#alerts-body tr").count() == 1  # one row per alert, updated in place
        assert not tab.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        tab.screenshot(path=str(tmp_path / "alerts-phone.png"), full_page=True)

        # the O&M pages fit the phone too
        from monitoring.models import WorkOrder

        order = WorkOrder.objects.get(pile__code="PILE-A1")
        for path in ("/monitoring/work-orders/", order.get_absolute_url(), "/monitoring/availability/", "/monitoring/load/"):
            tab.goto(url + path)
            assert tab.locator("h1").count() == 1, path
            assert not tab.evaluate("document.documentElement.scrollWidth > window.innerWidth"), path

