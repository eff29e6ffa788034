"""Fault alerts: their shape, who may see them, and how they leave this node (channel layer group
for websocket subscribers, webhooks). Sync code reaches websockets only through group_send."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from registry.access import is_platform_admin, member_institution

logger = logging.getLogger("pilechain.monitoring")

GROUP = "monitoring.alerts"
PHASES = ("reported", "confirmed")
SEVERITIES = ("critical", "major", "minor")


def build(*, phase: str, tx_id: str, pile, payload: dict, height: int | None = None, work_order: str | None = None,
          fault: str | None = None) -> dict:
    station = pile.station
    return {
        "id": tx_id, "phase": phase, "tx_id": tx_id, "height": height,
        "pile": pile.code, "connector_id": payload["connector_id"], "kind": payload["kind"],
        "severity": payload["severity"], "error_code": payload.get("error_code", ""), "detail": payload.get("detail", ""),
        "detected_at": payload["detected_at"], "operator": station.operator.code, "area": station.grid_area.code,
        "area_owner": station.grid_area.owner.code, "fault": fault, "work_order": work_order,
    }


def audience(user) -> dict | None:
    """What a subscriber may see, as plain data the consumer can test each alert against without a
    query: {"all": True} or {"operator": code} or {"area_owner": code}; None: nothing."""
    if is_platform_admin(user):
        return {"all": True}
    return scope_of(member_institution(user))


def scope_of(institution) -> dict | None:
    """What an institution may see of alerts (its people's subscriptions, its webhooks)."""
    if institution is None:
        return None
    # Mirrors registry.access for a pile's private fields: regulator and metrology see every pile,
    # an operator its own, a grid company the piles in its areas.
    if institution.role in ("regulator", "metrology"):
        return {"all": True}
    if institution.role == "operator":
        return {"operator": institution.code}
    if institution.role == "grid":
        return {"area_owner": institution.code}
    return None


def visible(alert: dict, scope: dict | None) -> bool:
    if not scope:
        return False
    if scope.get("all"):
        return True
    if "operator" in scope:
        return alert.get("operator") == scope["operator"]
    if "area_owner" in scope:
        return alert.get("area_owner") == scope["area_owner"]
    return False


def matches(alert: dict, filters: dict) -> bool:
    """Subscription filters: each given list narrows (institution = operator or area owner)."""
    for key, field in (("piles", "pile"), ("areas", "area"), ("severities", "severity"), ("phases", "phase")):
        wanted = filters.get(key)
        if wanted and alert.get(field) not in wanted:
            return False
    institutions = filters.get("institutions")
    if institutions and alert.get("operator") not in institutions and alert.get("area_owner") not in institutions:
        return False
    return True


def publish_confirmed(alert: dict) -> None:
    """After the block's commit: the alert carries the report's receipt (its Merkle path in the block),
    which a subscriber that keeps block headers checks on its own (ledger.chain.lightclient)."""
    try:
        from ledger.selectors import tx_receipt

        found = tx_receipt(alert["tx_id"]) or {}
        alert = {**alert, "receipt": found.get("receipt"), "block_hash": found.get("block_hash")}
    except Exception:
        logger.exception("no receipt for alert %s", alert.get("id"))
    publish(alert)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _send_live(alert: dict) -> None:
    """To this node's websocket subscribers (the channel layer group)."""
    layer = get_channel_layer()
    if layer is None:
        return
    send = async_to_sync(layer.group_send)
    if _loop_running():
        # Called from sync code on an event loop's thread: async_to_sync cannot run here.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(send, GROUP, {"type": "alert.message", "alert": alert}).result()
    else:
        send(GROUP, {"type": "alert.message", "alert": alert})


def publish(alert: dict) -> dict:
    """Number the alert (its `seq`, monitoring.alert_history), keep it in this node's alert history,
    push it to the websocket subscribers and queue it for webhooks; returns it with its seq. Call it
    after the commit that caused it. Never raises: an alert that cannot go out must not undo what
    was stored (one that cannot be kept is still pushed, without a seq)."""
    from monitoring import alert_history

    try:
        alert = alert_history.record(alert, send=_send_live)
    except Exception:
        logger.exception("alert %s not kept in the alert history; pushed without a seq", alert.get("id"))
        try:
            _send_live(alert)
        except Exception:
            logger.exception("alert %s not pushed to websocket subscribers", alert.get("id"))
    try:
        from monitoring.services.webhooks import enqueue

        enqueue(alert)
    except Exception:
        logger.exception("alert %s not queued for webhooks", alert.get("id"))
    return alert
