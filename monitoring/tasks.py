"""Celery tasks of monitoring: they take ids or nothing, and call services."""

from __future__ import annotations

import logging
import os

from celery import shared_task
from celery.signals import worker_ready

from core import localtime
from ledger.runtime import node, wake
from monitoring.alert_fanout import DELIVER_WEBHOOK
from monitoring.live import forwarder, outbox
from monitoring.services.anchoring import anchor_all
from monitoring.services.availability import availability_report_day, report_due_days
from monitoring.services.intervals import report_due_intervals
from monitoring.services.load import check_area_loads
from monitoring.services.retention import apply_retention
from monitoring.services.silence import report_silent_piles
from monitoring.services.webhooks import DeliveryFailed, attempt
from monitoring.services.workorders import alert_overdue

logger = logging.getLogger("pilechain.monitoring")


@shared_task(name="monitoring.anchor", ignore_result=True)
def anchor() -> int:
    """Anchor un-anchored readings (beat, e.g. every 30 s)."""
    if not node.configured():
        return 0
    return len(anchor_all())


@shared_task(name="monitoring.detect_silent", ignore_result=True)
def detect_silent() -> int:
    """Report piles that missed their heartbeats (beat, e.g. every minute)."""
    if not node.configured():
        return 0
    return len(report_silent_piles())


@shared_task(name="monitoring.retention", ignore_result=True)
def retention() -> dict:
    """Delete anchored telemetry older than the retention (beat, e.g. hourly)."""
    return apply_retention()


@shared_task(name="monitoring.area_load", ignore_result=True)
def area_load() -> int:
    """Alert on grid areas above their load threshold (beat, e.g. every minute)."""
    return len(check_area_loads())


@shared_task(name="monitoring.overdue", ignore_result=True)
def overdue() -> int:
    """Alert once for each open work order past its due time (beat, e.g. every 5 minutes)."""
    return len(alert_overdue())


@shared_task(name="monitoring.report_availability", ignore_result=True)
def report_availability(day: str | None = None) -> int:
    """Commit the daily availability reports: of `day` ("YYYY-MM-DD"), or of yesterday and the few
    days before it not yet reported (beat, e.g. hourly). Idempotent: piles already reported, or in a
    report still waiting for its block, are skipped. Returns the number of piles submitted."""
    if not node.configured():
        return 0
    if day is not None:
        parsed = localtime.parse_day(day)
        if parsed is None:
            raise ValueError(f"day must be YYYY-MM-DD, not {day!r}")
        return availability_report_day(day=parsed).piles
    return sum(report.piles for report in report_due_days())


@shared_task(name="monitoring.report_intervals", ignore_result=True)
def report_intervals() -> int:
    """Commit the agreed interval reports due (beat, every few seconds: nothing is submitted until an
    interval is over, and nothing twice). Returns the number of connector entries submitted."""
    if not node.configured():
        return 0
    return sum(run.connectors for run in report_due_intervals())


@shared_task(name=DELIVER_WEBHOOK, bind=True, ignore_result=True, max_retries=None, acks_late=True)
def deliver_webhook(self, delivery_id: int) -> None:
    """Send a webhook delivery (queued by monitoring.alert_fanout), retried with backoff until it
    succeeds or runs out of attempts."""
    try:
        attempt(delivery_id)
    except DeliveryFailed as exc:
        countdown = min(5 * 2 ** self.request.retries, 600)
        raise self.retry(exc=exc, countdown=countdown) from None


FORWARD_SECONDS = 240  # then the task ends and the next one takes over: workers can roll


@shared_task(name=outbox.FORWARD_TASK, ignore_result=True, acks_late=False, bind=True)
def live_forward(self) -> None:
    """Run the live path's forwarder while there is work (monitoring.live.forwarder): queued when an
    event commits and by beat every few seconds; a copy that finds another running returns at once."""
    if not node.configured():
        return
    worker = self.request.hostname or "worker"
    if wake.stop_requested(worker):
        return
    holder = f"{worker}:{os.getpid()}"
    outcome = forwarder.run(holder=holder, max_seconds=FORWARD_SECONDS, stop_requested=lambda: wake.stop_requested(worker))
    if outcome == "more":
        live_forward.delay()


@worker_ready.connect
def _start_forwarding(sender=None, **kwargs) -> None:
    try:
        if node.configured():
            live_forward.delay()
    except Exception:  # a worker must come up even if the live path cannot start
        logger.exception("could not start the live path's forwarder")
