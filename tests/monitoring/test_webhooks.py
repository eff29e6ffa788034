"""Webhooks: a real local HTTP receiver gets HMAC-signed JSON; a failed delivery is retried."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from monitoring import ingest
from monitoring.models import WebhookDelivery
from monitoring.services import webhooks
from monitoring.tasks import deliver_webhook
from tests.monitoring.helpers import at
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def receivers_allowed(settings):
    """The receivers of these tests listen on this machine's loopback, which the node's operator allows."""
    settings.OUTBOUND_ALLOW = ["127.0.0.1"]


class Receiver:
    """A local HTTP server answering with the given status codes in turn (then 200)."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def fault_committed(capture):
    with capture(execute=True):
        ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="GroundFailure", info="",
                             timestamp=at(0), source="ocpp1.6")
    with capture(execute=True):
        return commit_pending()


def test_signed_delivery_with_retry(world, django_capture_on_commit_callbacks):
    with Receiver([500]) as receiver:
        hook, secret = webhooks.webhook_create(actor=world.users["a_manager"], url=receiver.url,
                                               filters={"phases": ["confirmed"]})
        block = fault_committed(django_capture_on_commit_callbacks)
        [delivery] = WebhookDelivery.objects.filter(webhook=hook)
        deliver_webhook.apply(args=[delivery.pk])  # 500, then the task retries (eagerly here) and gets 200
        delivery.refresh_from_db()
        assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.last_status_code == 200
        assert len(receiver.requests) == 2
        headers, body = receiver.requests[-1]
        assert webhooks.verify(secret, headers["X-Pilechain-Signature"], body)
        assert not webhooks.verify("another secret", headers["X-Pilechain-Signature"], body)
        assert not webhooks.verify(secret, headers["X-Pilechain-Signature"], body.replace(b"PILE-A1", b"PILE-A2"))
        alert = json.loads(body)["alert"]
        assert (alert["pile"], alert["phase"], alert["height"]) == ("PILE-A1", "confirmed", block.height)
        assert headers["X-Pilechain-Event"] == f"{alert['id']}:confirmed"


def test_delivery_gives_up_after_max_attempts(world, settings, django_capture_on_commit_callbacks):
    settings.MONITORING_WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver([500, 502, 503, 200]) as receiver:
        webhooks.webhook_create(actor=world.users["reg_manager"], url=receiver.url)
        fault_committed(django_capture_on_commit_callbacks)
        for delivery in WebhookDelivery.objects.order_by("id"):
            deliver_webhook.apply(args=[delivery.pk])
        phases = dict(WebhookDelivery.objects.values_list("event_id", "status"))
        assert sorted(phases.values()) == ["delivered", "failed"]  # reported: 3 failures; confirmed: 200
        assert len(receiver.requests) == 4


def test_webhooks_see_only_what_their_institution_may(world, django_capture_on_commit_callbacks):
    with Receiver([]) as receiver:
        webhooks.webhook_create(actor=world.users["b_manager"], url=receiver.url)
        webhooks.webhook_create(actor=world.users["grid2_manager"], url=receiver.url)
        fault_committed(django_capture_on_commit_callbacks)
        assert not WebhookDelivery.objects.exists()


def test_only_managers_register_http_urls(world):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        webhooks.webhook_create(actor=world.users["a_viewer"], url="http://127.0.0.1:9/x")
    with pytest.raises(ValidationError):
        webhooks.webhook_create(actor=world.users["a_manager"], url="file:///etc/passwd")
    with pytest.raises(ValidationError):
        webhooks.webhook_create(actor=world.users["a_manager"], url="http://127.0.0.1:9/x", filters={"colour": "red"})


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://[::1]:18004/api/", "http://localhost:9/x", "http://169.254.169.254/latest/",
    "http://10.1.2.3/x", "http://192.168.0.7/x", "http://100.64.0.1/x", "http://0.0.0.0:80/x",
    "http://[::ffff:127.0.0.1]/x", "http://[fd00::1]/x", "http://[fe80::1]/x", "http://224.0.0.1/x",
    "http://2130706433/x",  # 127.0.0.1 as one number
])
def test_the_nodes_own_network_is_refused_unless_allowed(world, settings, url):
    from django.core.exceptions import ValidationError

    settings.OUTBOUND_ALLOW = []
    with pytest.raises(ValidationError, match="loopback, private, link-local|does not resolve|not a URL|an http"):
        webhooks.webhook_create(actor=world.users["a_manager"], url=url)


def test_the_allowlist_names_hosts_or_networks_and_is_checked_at_every_delivery(world, settings,
                                                                               django_capture_on_commit_callbacks):
    from core import outbound

    settings.OUTBOUND_ALLOW = ["10.0.0.0/8", "localhost"]
    assert outbound.resolve("http://10.1.2.3:8080/x").address == "10.1.2.3"
    assert outbound.resolve("http://localhost/x").host == "localhost"
    with pytest.raises(outbound.Refused):
        outbound.resolve("http://127.0.0.1/x")  # the name is allowed, not the address written plainly
    with Receiver([]) as receiver:
        settings.OUTBOUND_ALLOW = ["127.0.0.1"]
        webhooks.webhook_create(actor=world.users["a_manager"], url=receiver.url)
        fault_committed(django_capture_on_commit_callbacks)
        settings.OUTBOUND_ALLOW = []  # the operator withdrew it: nothing more is sent there
        for delivery in WebhookDelivery.objects.all():
            with pytest.raises(webhooks.DeliveryFailed, match="refused"):
                webhooks.attempt(delivery.pk)
        assert receiver.requests == []


def test_the_connection_goes_to_the_checked_address_with_the_host_named_and_no_redirect_followed(world, settings):
    settings.OUTBOUND_ALLOW = ["127.0.0.1", "localhost"]
    from core import outbound

    with Receiver([302]) as receiver, Receiver([]) as elsewhere:
        url = receiver.url.replace("127.0.0.1", "localhost")
        status = outbound.post(url, body=b"{}", headers={"Location": elsewhere.url}, timeout=5)
        assert status == 302  # an answer, not followed
        [(headers, body)] = receiver.requests
        assert headers["Host"] == f"localhost:{receiver.server.server_address[1]}" and body == b"{}"
        assert elsewhere.requests == []


def test_international_names_travel_as_idna_and_a_refusal_names_no_internal_address(world, settings):
    from core import outbound

    assert outbound.parse("https://例子.测试/hook")[1] == "xn--fsqu00a.xn--0zwm56d"
    settings.OUTBOUND_ALLOW = []
    with pytest.raises(outbound.Refused) as refused:
        outbound.resolve("http://localhost:9/x")
    assert "127.0.0.1" not in str(refused.value) and "::1" not in str(refused.value)
