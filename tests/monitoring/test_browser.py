"""A real browser on a phone-sized screen keeps the live alerts page open: a fault appears as
reported, then as confirmed with its block height, over the same websocket a third party uses."""

import pytest
from django.test import Client

from monitoring import ingest
from tests.gateway.live import live_server
from tests.monitoring.helpers import at
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    import os

    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is missing at /usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        yield context
        context.close()
        browser.close()


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

