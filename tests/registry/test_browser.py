"""A real browser on a phone-sized screen registers a pile through the web form, follows its
transaction from pending to committed, and opens the result."""

import pytest

from registry.models import Pile
from tests.conftest import PASSWORD
from tests.utils.ledger import commit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def page(monkeypatch):
    import os

    assert os.access(CHROMIUM, os.X_OK), "Debian's chromium is missing at /usr/bin/chromium (scripts/test installs it)"
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # This machine's network is closed: keep Chromium from calling home at start.
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        yield context.new_page()
        context.close()
        browser.close()


def test_operator_registers_a_pile_from_a_phone(world, live_server, page, tmp_path):
    artifacts = tmp_path
    page.goto(f"{live_server.url}/registry/piles/new/")
    assert "/accounts/login/" in page.url
    page.fill('input[name="username"]', "a_manager")
    page.fill('input[name="password"]', PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/registry/piles/new/")

    page.select_option('select[name="station"]', "ST-A")
    page.fill('input[name="code"]', "PILE-PHONE")
    page.select_option('select[name="kind"]', "dc")
    page.fill('input[name="rated_power_kw"]', "120")
    page.select_option('select[name="accuracy_class"]', "1")
    page.fill('input[name="commissioned_on"]', "2025-08-01")
    page.select_option('select[name="status"]', "active")
    assert page.is_checked('input[name="public"]')  # a new pile is public unless unticked
    page.fill('input[name="vendor"]', "PhoneVendor")
    page.click('main button[type="submit"]')
    # The form sends a transaction: its status page waits for the block, polling.
    page.wait_for_url("**/ledger/tx/**")
    assert page.get_attribute("#tx-status", "data-status") == "pending"
    assert page.is_hidden('[data-field="next"]')
    assert not Pile.objects.filter(code="PILE-PHONE").exists()
    page.screenshot(path=str(artifacts / "tx-pending-phone.png"), full_page=True)
    [block] = commit_all()
    page.wait_for_selector('#tx-status[data-status="applied"]', timeout=10_000)
    assert page.inner_text('[data-field="height"]') == str(block.height)
    page.click('[data-field="next"]')
    page.wait_for_url("**/registry/piles/PILE-PHONE/")

    assert "PhoneVendor" in page.content()
    assert Pile.objects.get(code="PILE-PHONE").station.code == "ST-A"
    assert Pile.objects.get(code="PILE-PHONE").public is True
    # Nothing is wider than the phone's screen except inside a scrolling table wrapper.
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow

    # The language switch sits in the collapsed phone menu; the page comes back in Chinese.
    page.click("label.nav-toggle-label")
    page.select_option("#language-select", "zh-hans")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    assert page.url.endswith("/registry/piles/PILE-PHONE/")
    assert "充电桩" in page.inner_text("nav")
    assert "退出登录" in page.inner_text("nav") or "注销" in page.inner_text("nav")
    page.screenshot(path=str(artifacts / "pile-detail-zh-phone.png"), full_page=True)
