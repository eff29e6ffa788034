"""The live alerts page in real Chromium reconnects by itself when the node drops the connection
(here: the node's web server stops and starts again on the same port) and shows the alerts it missed
meanwhile, each once, by passing the seq of the last alert it saw (issue #15)."""

import json

import pytest
from django.test import Client

from monitoring import ingest
from tests.gateway.live import live_server
from tests.monitoring.helpers import at
from tests.monitoring.test_browser import page  # noqa: F401 (the Chromium fixture)
from tests.processes import free_port
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def faulted(pile, connector):
    ingest.record_status(pile_code=pile, connector_id=connector, status="Faulted", error_code="GroundFailure",
                         info="", timestamp=at(0), source="ocpp1.6")


def test_page_reconnects_and_shows_what_it_missed_once(world, page):  # noqa: F811
    client = Client()
    client.force_login(world.users["reg_manager"])
    port = free_port()
    sockets, frames = [], []

    def watch(ws):
        sockets.append(ws.url)
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    with live_server(port) as ws_url:
        url = ws_url.replace("ws://", "http://")
        page.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])
        tab = page.new_page()
        tab.on("websocket", watch)
        tab.goto(f"{url}/monitoring/alerts/")
        tab.wait_for_selector("#alerts-status.badge-ok", timeout=15_000)
        faulted("PILE-A1", 1)
        first = tab.wait_for_selector("#alerts-body tr:has-text('PILE-A1')", timeout=10_000)
        seen = int(first.get_attribute("data-seq"))

    tab.wait_for_selector("#alerts-status.badge-warn", timeout=15_000)  # the page noticed the drop
    # while the page is away: PILE-A1's fault confirmed, two faults on PILE-B1
    block = commit_pending()
    faulted("PILE-B1", 1)
    faulted("PILE-B1", 2)

    with live_server(port):
        tab.wait_for_selector("#alerts-status.badge-ok", timeout=30_000)
        tab.wait_for_selector(f"#alerts-body tr:has-text('PILE-A1'):has-text('confirmed'):has-text('{block.height}')",
                              timeout=10_000)
        tab.wait_for_selector("#alerts-body tr:has-text('PILE-B1 #1')", timeout=10_000)
        tab.wait_for_selector("#alerts-body tr:has-text('PILE-B1 #2')", timeout=10_000)
        # and live again after the replay
        later = commit_pending()
        tab.wait_for_selector(f"#alerts-body tr:has-text('PILE-B1 #2'):has-text('{later.height}')", timeout=10_000)
        assert tab.locator("#alerts-body tr").count() == 3  # one row per alert, updated in place
        assert tab.locator("#alerts-notice").is_hidden()  # nothing was lost: no gap to report

    assert f"after={seen}" in sockets[-1] and "after=" not in sockets[0]
    delivered = [frame["alert"]["seq"] for frame in frames if frame["type"] == "alert"]
    assert len(delivered) == len(set(delivered)) == 6, delivered  # reported A1; 3 missed; 2 confirmations
    assert delivered == sorted(delivered)
    replayed = [frame for frame in frames if frame.get("replayed")]
    assert [(f["alert"]["pile"], f["alert"]["phase"]) for f in replayed] == [
        ("PILE-A1", "confirmed"), ("PILE-B1", "reported"), ("PILE-B1", "reported")]
