"""The gateway's periodic duties (Celery beat)."""

from __future__ import annotations

from celery import shared_task

from gateway.curtailments import apply_curtailments as apply


@shared_task(name="gateway.apply_curtailments", ignore_result=True)
def apply_curtailments() -> dict:
    """Send the connected piles their share of each curtailment not over yet (beat, every few seconds)."""
    return apply()
