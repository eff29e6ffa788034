"""Celery tasks of calibration: they take nothing and call services."""

from __future__ import annotations

from celery import shared_task

from calibration import services
from ledger.runtime import node


@shared_task(name="calibration.raise_due_requests", ignore_result=True)
def raise_due_requests() -> int:
    """Raise verification requests for piles coming due or overdue (beat, e.g. hourly; metrology nodes)."""
    if not node.configured():
        return 0
    return len(services.raise_due_requests())
