"""Piles gone silent: no message for more than the allowed number of heartbeat intervals."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from monitoring import conf, detection
from monitoring.models import PileState
from monitoring.services import faults


def report_silent_piles(*, now=None) -> list:
    """Report each newly silent pile once (cleared by its next message); returns the submissions.
    Only this node's own piles (source blank): the state members reported is theirs to watch."""
    now = now or timezone.now()
    heartbeat, missed = conf.heartbeat_s(), conf.missed_heartbeats()
    cutoff = now - detection.dt.timedelta(seconds=heartbeat * missed)
    reported = []
    candidates = PileState.objects.select_related(
        "pile", "pile__station__operator", "pile__station__grid_area__owner"
    ).filter(last_seen_at__lt=cutoff, silent_reported=False, pile__status="active", source="").order_by("pile_id")
    for state in candidates:
        with transaction.atomic():
            if not PileState.objects.filter(pk=state.pk, silent_reported=False, last_seen_at__lt=cutoff).update(
                silent_reported=True
            ):
                continue  # heard from it meanwhile
            finding = detection.silent_finding(state.last_seen_at, heartbeat, missed)
            submission = faults.fault_detected(pile=state.pile, connector_id=0, finding=finding, detected_at=now)
            if submission is not None:
                reported.append(submission)
    return reported
