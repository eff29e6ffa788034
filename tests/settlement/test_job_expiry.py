"""Jobs that stop moving end as failed, with the reason; old jobs go away with their files."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.utils import timezone

from settlement import tasks
from settlement.models import JobProgress

pytestmark = pytest.mark.django_db


def _job(user, *, state: str, created_ago: dt.timedelta, updated_ago: dt.timedelta, **fields) -> JobProgress:
    job = JobProgress.objects.create(uid=uuid.uuid4(), kind="export-csv", user=user, total=1, state=state, **fields)
    now = timezone.now()
    JobProgress.objects.filter(pk=job.pk).update(created_at=now - created_ago, updated_at=now - updated_ago)
    return job


def test_expire_jobs_fails_stalled_ones_and_deletes_old_ones(world):
    user = world.users["grid_manager"]
    stale = dt.timedelta(minutes=settings.SETTLEMENT_JOB_STALE_MINUTES)
    keep = dt.timedelta(days=settings.SETTLEMENT_JOB_KEEP_DAYS)
    moving = _job(user, state="running", created_ago=2 * stale, updated_ago=dt.timedelta(minutes=1))
    stalled = _job(user, state="running", created_ago=2 * stale, updated_ago=stale + dt.timedelta(minutes=1))
    never_picked_up = _job(user, state="queued", created_ago=2 * stale, updated_ago=2 * stale)
    finished = _job(user, state="done", created_ago=keep - dt.timedelta(hours=1), updated_ago=keep,
                    result=b"a,b\n", result_name="x.csv")
    old = _job(user, state="done", created_ago=keep + dt.timedelta(hours=1), updated_ago=keep,
               result=b"a,b\n", result_name="old.csv")

    assert tasks.expire_jobs() == {"failed": 2, "deleted": 1}

    states = dict(JobProgress.objects.values_list("uid", "state"))
    assert states == {moving.uid: "running", stalled.uid: "failed", never_picked_up.uid: "failed",
                      finished.uid: "done"}
    assert old.uid not in states
    stalled.refresh_from_db()
    assert "no progress" in stalled.detail and "start it again" in stalled.detail
    finished.refresh_from_db()
    assert finished.state == "done" and bytes(finished.result) == b"a,b\n"  # a finished job is not touched
    assert tasks.expire_jobs() == {"failed": 0, "deleted": 0}  # nothing more to do


def test_progress_keeps_a_job_alive(world):
    user = world.users["grid_manager"]
    stale = dt.timedelta(minutes=settings.SETTLEMENT_JOB_STALE_MINUTES)
    job = _job(user, state="running", created_ago=2 * stale, updated_ago=2 * stale)
    tasks._update(job.uid, done=1)  # what every step of a task does
    assert tasks.expire_jobs()["failed"] == 0
    job.refresh_from_db()
    assert job.state == "running" and job.done == 1


def test_a_task_that_fails_ends_its_job_as_failed(world):
    """The user was removed between starting the export and the worker taking it: the job says why
    instead of running for ever."""
    user = world.users["grid_manager"]
    job = tasks.job_start(kind="export-csv", user=user, total=1)
    with pytest.raises(Exception) as raised:
        tasks.export_statement(str(job.uid), 10**9, str(uuid.uuid4()), "csv")
    job.refresh_from_db()
    assert job.state == "failed" and job.detail.startswith(raised.value.__class__.__name__)
    assert "does not exist" in job.detail


def test_expiry_runs_on_the_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["settlement-expire-jobs"]
    assert entry["task"] == tasks.expire_jobs.name and entry["schedule"] <= 60 * settings.SETTLEMENT_JOB_STALE_MINUTES
