"""How an alert leaves this node, after the commit that caused it: numbered and kept in the alert
history (monitoring.alert_history), pushed to the websocket subscribers (the channel layer group;
sync code reaches websockets only through group_send) and queued for the webhooks that may see it.

Called by the contracts (after the block's commit, with the receipt) and by the services (faults
reported, areas over their load, overdue work orders), so it imports neither: the webhook deliveries
it queues are sent by the Celery task `monitoring.deliver_webhook` (monitoring.tasks, which imports
the services), enqueued here by its name. `_queue_delivery` is the one place that enqueues it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction

from ledger.selectors import tx_receipt
from monitoring import alert_history, alerts
from monitoring.models import Webhook, WebhookDelivery

logger = logging.getLogger("pilechain.monitoring")

DELIVER_WEBHOOK = "monitoring.deliver_webhook"  # the Celery task's name (monitoring.tasks.deliver_webhook)


def publish_confirmed(alert: dict) -> None:
    """After the block's commit: the alert carries the report's receipt (its Merkle path in the block),
    which a subscriber that keeps block headers checks on its own (ledger.chain.lightclient)."""
    try:
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
            pool.submit(send, alerts.GROUP, {"type": "alert.message", "alert": alert}).result()
    else:
        send(alerts.GROUP, {"type": "alert.message", "alert": alert})


def publish(alert: dict) -> dict:
    """Number the alert (its `seq`, monitoring.alert_history), keep it in this node's alert history,
    push it to the websocket subscribers and queue it for webhooks; returns it with its seq. Call it
    after the commit that caused it. Never raises: an alert that cannot go out must not undo what
    was stored (one that cannot be kept is still pushed, without a seq)."""
    try:
        alert = alert_history.record(alert, send=_send_live)
    except Exception:
        logger.exception("alert %s not kept in the alert history; pushed without a seq", alert.get("id"))
        try:
            _send_live(alert)
        except Exception:
            logger.exception("alert %s not pushed to websocket subscribers", alert.get("id"))
    try:
        queue_webhooks(alert)
    except Exception:
        logger.exception("alert %s not queued for webhooks", alert.get("id"))
    return alert


def _queue_delivery(delivery_id: int) -> None:
    """The one place that enqueues a webhook delivery: by the task's name, since the task's module
    imports the services that publish alerts."""
    current_app.send_task(DELIVER_WEBHOOK, args=[delivery_id], ignore_result=True)


def queue_webhooks(alert: dict) -> list[int]:
    """One delivery per active webhook that may see the alert and wants it, sent by the Celery task
    once the current transaction commits; returns the deliveries' ids."""
    queued = []
    for hook in Webhook.objects.filter(active=True).select_related("institution"):
        filters = {"piles": hook.piles, "areas": hook.areas, "severities": hook.severities, "phases": hook.phases}
        if not alerts.visible(alert, alerts.scope_of(hook.institution)) or not alerts.matches(alert, filters):
            continue
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=hook, event_id=f"{alert['id']}:{alert['phase']}", body={"type": "alert", "alert": alert}
                )
        except IntegrityError:
            continue  # already queued (an alert is pushed once per phase)
        queued.append(delivery.pk)
        transaction.on_commit(lambda pk=delivery.pk: _queue_delivery(pk))
    return queued
