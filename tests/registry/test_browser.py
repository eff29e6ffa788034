"""A real browser on a phone-sized screen registers a pile through the web form, follows its
transaction from pending to committed, and opens the result."""

import pytest

from registry.models import Pile
from tests.conftest import PASSWORD
from tests.utils.browser import phone_context
from tests.utils.ledger import commit_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    """A phone-sized Chromium tab; the test fails on any Content-Security-Policy violation."""
    with phone_context(monkeypatch) as context:
        yield context.new_page()


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
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")
    assert page.url.endswith("/registry/piles/PILE-PHONE/")
    assert "充电桩" in page.inner_text("nav")
    assert "退出登录" in page.inner_text("nav") or "注销" in page.inner_text("nav")
    page.screenshot(path=str(artifacts / "pile-detail-zh-phone.png"), full_page=True)
