"""The operator node's side of the live path, as its gateway learns things: events go into the
outbox in the transaction that stores what they report (so an event exists exactly when its state
does: a web process killed halfway loses neither), and the forwarder is rung once it commits."""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app
from django.conf import settings
from django.db import transaction

from ledger.runtime import node, wake
from monitoring.models import LiveEvent

logger = logging.getLogger("pilechain.monitoring.live")

DEFAULT_METER_SAMPLE_S = 10


def add(events: list[dict]) -> None:
    """Put events (monitoring.live.events) in the outbox; inside the caller's transaction. A node
    outside a consortium has no live path (and no forwarder to empty the outbox)."""
    if not events or not node.configured():
        return
    LiveEvent.objects.bulk_create([LiveEvent(event=e) for e in events])
    transaction.on_commit(ring)


def meter_sample_s() -> int:
    """N: a connector's figures go on the live path at most once per N seconds (the consortium's)."""
    try:
        return node.consortium().live.meter_sample_s if node.configured() else DEFAULT_METER_SAMPLE_S
    except node.NotConfigured:
        return DEFAULT_METER_SAMPLE_S


def meter_due(last_sent: dt.datetime | None, at: dt.datetime, every_s: int) -> bool:
    return last_sent is None or (at - last_sent).total_seconds() >= every_s


# --- the forwarder's doorbell ---------------------------------------------------------------------
DOORBELL = wake.Doorbell("live-wake")
FORWARD_TASK = "monitoring.live_forward"
QUEUED_TTL_S = 30


def queued_key() -> str:
    """Set while a forwarder is queued or running (it keeps the mark fresh and clears it when it
    ends, then looks once more for events): a commit meanwhile need not queue another."""
    return f"pilechain:{settings.NODE_CODE}:live-forward-queued"


def ring() -> None:
    """After an event commits: wake the running forwarder, or have one run."""
    try:
        DOORBELL.ring()
        kick()
    except Exception:  # Redis or the broker away: beat queues the forwarder every few seconds anyway
        logger.warning("could not wake the live path's forwarder", exc_info=True)


def kick() -> None:
    """Queue the forwarder's task unless one is queued or running (monitoring.live.forwarder)."""
    if wake.client().set(queued_key(), b"1", nx=True, ex=QUEUED_TTL_S):
        current_app.send_task(FORWARD_TASK)


def wait(timeout_s: float) -> bool:
    """Block until rung or `timeout_s` passed (the forwarder's idle wait)."""
    return DOORBELL.wait(timeout_s)
