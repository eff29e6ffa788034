"""The Content-Security-Policy holds every page: each response carries it, and a real browser walking
the site's pages (as the regulator and as a platform administrator: Swagger UI, the API's JSON and
Django admin included) sees no violation (tests.utils.browser fails on any)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.utils.browser import phone_context

PAGES = [
    "/", "/registry/piles/", "/registry/piles/PILE-A1/", "/registry/stations/", "/registry/grid-areas/",
    "/registry/test-boxes/", "/registry/tokens/", "/monitoring/work-orders/", "/monitoring/alerts/",
    "/monitoring/availability/", "/monitoring/load/", "/gateway/", "/calibration/",
    "/settlement/", "/subsidy/", "/api/docs/", "/api/piles/",
    "/accounts/password_change/", "/accounts/two-factor/",
]
ADMIN_PAGES = ["/admin/", "/admin/registry/pile/", "/admin/axes/accessattempt/", "/admin/registry/securityevent/",
               "/admin/otp_totp/totpdevice/"]


@pytest.mark.django_db
def test_every_response_carries_the_policy(world):
    client = Client()
    client.force_login(world.users["reg_manager"])
    for path in ("/", "/accounts/login/", "/api/piles/", "/monitoring/alerts/", "/nowhere/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, (path, policy)
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username, pages", [("reg_manager", PAGES), ("admin", PAGES[:3] + ADMIN_PAGES)])
def test_a_browser_sees_no_violation_on_any_page(world, live_server, monkeypatch, username, pages):
    with phone_context(monkeypatch) as context:
        tab = context.new_page()
        tab.goto(f"{live_server.url}/accounts/login/")
        tab.fill('input[name="username"]', username)
        tab.fill('input[name="password"]', PASSWORD)
        tab.click("#login-button")
        tab.wait_for_load_state("networkidle")
        for path in pages:
            response = tab.goto(f"{live_server.url}{path}")
            assert response.status == 200, (path, response.status)
            tab.wait_for_load_state("networkidle")
        # Swagger UI drew the operations (its scripts ran under the policy).
        tab.goto(f"{live_server.url}/api/docs/")
        tab.wait_for_selector(".opblock", timeout=15_000)
        # The language switch (a script of the site's own) still submits its form.
        tab.goto(f"{live_server.url}/")
        tab.click("label.nav-toggle-label")  # the phone's menu
        with tab.expect_navigation():
            tab.select_option("#language-select", "zh-hans")
        assert tab.locator("html").get_attribute("lang") == "zh-hans"
