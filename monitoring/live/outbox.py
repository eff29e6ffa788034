"""The operator node's side of the live path, as its gateway learns things: events go into the
outbox in the transaction that stores what they report (so an event exists exactly when its state
does: a web process killed halfway loses neither), and the forwarder is rung once it commits."""

from __future__ import annotations

import datetime as dt

import redis
from django.db import transaction

from ledger.runtime import node, wake
from monitoring.models import LiveEvent

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


def ring() -> None:
    try:
        DOORBELL.ring()
    except redis.RedisError:
        pass  # the forwarder also looks every second: a lost ring only delays


def wait(timeout_s: float) -> bool:
    """Block until rung or `timeout_s` passed (the forwarder's idle wait)."""
    return DOORBELL.wait(timeout_s)
