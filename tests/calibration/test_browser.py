"""Real headless Chromium on a phone-sized screen: calibration staff import the field agent's record
through the form, check the results, sign and file, and see the committed record and its certificate.

The live server runs in a thread of this process and has no consensus running; the page polls (the
pending page refreshes itself every second) while this test thread commits the pending submission
with tests.utils.ledger.commit_pending, exactly as a block would be applied on a node."""

from __future__ import annotations

import json

import pytest

from calibration.fieldagent.__main__ import main as agent_main
from calibration.models import VerificationRecord
from tests.calibration.helpers import CHECKS, TB1_KEY
from tests.conftest import PASSWORD
from tests.utils.browser import phone_context
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch):
    """A phone-sized Chromium tab; the test fails on any Content-Security-Policy violation."""
    with phone_context(monkeypatch) as context:
        yield context.new_page()


def test_staff_import_agent_record_file_and_see_certificate(world, live_server, page, start_box, tmp_path, capsys):
    key_file = tmp_path / "tb1.pem"
    key_file.write_text(TB1_KEY.to_pem())
    box = start_box("--serial", "TB-1", "--key-kind", "ed25519", "--key-file", str(key_file),
                    "--behaviour", "slightly-fast")
    saved = tmp_path / "record.json"
    assert agent_main(["read", "--host", "127.0.0.1", "--port", str(box.port), "--pile", "PILE-A1",
                       "--out", str(saved)]) == 0, capsys.readouterr().err
    record = json.loads(saved.read_text())

    page.goto(f"{live_server.url}/calibration/new/")
    page.fill('input[name="username"]', "metro_manager")
    page.fill('input[name="password"]', PASSWORD)
    page.click("#login-button")
    page.wait_for_url("**/calibration/drafts/*/")

    page.fill("#pile-search", "Century Avenue")
    page.click('form.filters button[type="submit"]')
    page.click('#pile-results a:has-text("PILE-A1")')
    assert page.input_value('input[name="pile"]') == "PILE-A1"
    page.select_option('select[name="test_box"]', "TB-1")
    page.set_input_files('input[name="record_file"]', str(saved))
    page.fill('input[name="insulation_mohm"]', "50")
    for check in CHECKS:
        page.select_option(f'select[name="check_{check}"]', "yes")
    page.click('button[value="check"]')
    page.wait_for_selector("#item-results")
    # +0.5 % on a class 2 pile: every item's result is shown before signing.
    assert "0.50 %" in page.inner_text('#item-results tr[data-item="working_error"]')
    assert "Imported record" in page.inner_text("#imported")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")

    page.click("#file-button")
    page.wait_for_selector('#submission[data-status="pending"]')
    block = commit_pending()
    page.wait_for_selector('#submission[data-status="applied"]', timeout=15_000)
    assert f"block {block.height}" in page.inner_text("#submission")

    page.click("#record-link")
    page.wait_for_selector("#conclusion")
    assert page.inner_text("#height") == str(block.height)
    page.click("#certificate-link")
    page.wait_for_selector("#certificate svg")
    stored = VerificationRecord.objects.get(sequence=record["sequence"])
    assert "Certificate of verification" in page.inner_text("#certificate")
    assert page.inner_text("#next-due") == stored.next_due_on.isoformat()
    assert stored.conclusion == "pass" and stored.measurement == record
    page.screenshot(path=str(tmp_path / "certificate-phone.png"), full_page=True)
