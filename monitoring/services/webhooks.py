"""Webhooks: third parties registered by an institution receive its alerts as signed JSON.

Signature: header `X-Pilechain-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`;
the receiver recomputes it over the raw body and refuses stale timestamps. Deliveries are queued as
alerts go out (monitoring.alert_fanout) and sent, retried with exponential backoff, by a Celery task
(monitoring.tasks.deliver_webhook, which calls `attempt`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time

import urllib3
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from core import outbound

from monitoring import conf
from monitoring.alerts import parse_filters
from monitoring.models import Webhook, WebhookDelivery
from registry.access import is_manager, member_institution

logger = logging.getLogger("pilechain.monitoring")

SIGNATURE_HEADER = "X-Pilechain-Signature"
EVENT_HEADER = "X-Pilechain-Event"


def body_bytes(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, now: int | None = None, tolerance_s: int = 300) -> bool:
    """What a receiver does (documented in docs/monitoring.md; the tests use it)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else int(time.time())) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def webhook_create(*, actor, url: str, filters: dict | None = None) -> tuple[Webhook, str]:
    """A manager registers a URL for the institution's alerts; returns the webhook and its secret
    (shown once)."""
    institution = member_institution(actor)
    if institution is None or not is_manager(actor):
        raise PermissionDenied("only an institution's managers register webhooks")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValidationError({"url": "an http or https URL"}) from None
    try:
        outbound.resolve(url)  # checked again at every delivery (core.outbound)
    except outbound.Refused as exc:
        raise ValidationError({"url": str(exc)}) from None
    try:
        parsed = parse_filters(filters or {})
    except ValueError as exc:
        raise ValidationError({"filters": str(exc)}) from None
    secret = secrets.token_hex(32)
    hook = Webhook.objects.create(
        institution=institution, url=url, secret=secret, piles=parsed.get("piles", []), areas=parsed.get("areas", []),
        severities=parsed.get("severities", []), phases=parsed.get("phases", []), created_by=actor.username,
    )
    return hook, secret


def webhook_delete(*, actor, webhook: Webhook) -> None:
    institution = member_institution(actor)
    if institution is None or not is_manager(actor) or webhook.institution_id != institution.pk:
        raise PermissionDenied("only the institution's managers remove its webhooks")
    webhook.delete()


class DeliveryFailed(Exception):
    pass


def attempt(delivery_id: int) -> WebhookDelivery:
    """POST the delivery once; DeliveryFailed when the receiver did not answer 2xx."""
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return delivery
    body = body_bytes(delivery.body)
    headers = {
        "Content-Type": "application/json", EVENT_HEADER: delivery.event_id,
        SIGNATURE_HEADER: sign(delivery.webhook.secret, int(time.time()), body),
        "User-Agent": "pilechain-webhook/1",
    }
    delivery.attempts += 1
    try:
        # To the address checked now, not to whatever the name resolves to later; no redirects followed.
        status = outbound.post(delivery.webhook.url, body=body, headers=headers, timeout=conf.webhook_timeout_s())
        delivery.last_status_code = status
        ok = 200 <= status < 300
        delivery.last_error = "" if ok else f"HTTP {status}"
    except outbound.Refused as exc:
        ok = False
        delivery.last_error = f"refused: {exc}"[:500]
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        ok = False
        delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
    if ok:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    elif delivery.attempts >= conf.webhook_max_attempts():
        delivery.status = WebhookDelivery.Status.FAILED
    delivery.save()
    if not ok and delivery.status != WebhookDelivery.Status.FAILED:
        raise DeliveryFailed(delivery.last_error)
    return delivery
