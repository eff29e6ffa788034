"""The beat's audit task: one at a time per node (an audit of millions of rows outlasts its interval)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from ledger import tasks
from ledger.models import NodeState

pytestmark = pytest.mark.django_db


def test_an_audit_does_not_start_while_another_runs(world):
    cache.delete(tasks.AUDIT_RUNNING_KEY)
    assert cache.add(tasks.AUDIT_RUNNING_KEY, 1, timeout=60)  # another worker's audit, still running
    try:
        tasks.audit()
        assert NodeState.objects.get().last_audit_at is None
    finally:
        cache.delete(tasks.AUDIT_RUNNING_KEY)
    tasks.audit()
    state = NodeState.objects.get()
    assert state.last_audit_at is not None and state.last_audit_ok is True
    assert cache.get(tasks.AUDIT_RUNNING_KEY) is None  # released when done


def test_an_audit_the_worker_could_not_start_in_time_is_dropped():
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-audit"]
    assert entry["task"] == tasks.audit.name and entry["options"]["expires"] == entry["schedule"]
