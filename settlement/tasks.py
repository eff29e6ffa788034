"""Long work as Celery tasks with a progress row the page polls: closing many areas, exports.

A job that fails says why in its row; one that stops moving (its worker died) is marked failed by
`expire_jobs`, which also deletes jobs, and their files, once they are older than the days a node
keeps them (PILECHAIN_JOB_KEEP_DAYS, 7 by default).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ledger.execution import validation_reason
from registry.models import User
from settlement import exports
from settlement.models import JobProgress
from settlement.selectors.billing import statement_view, statements_for
from settlement.services.billing import period_close

logger = logging.getLogger(__name__)


def job_start(*, kind: str, user, total: int = 0) -> JobProgress:
    return JobProgress.objects.create(uid=uuid.uuid4(), kind=kind, user=user, total=total)


def _update(job_uid, **fields):
    JobProgress.objects.filter(uid=job_uid).update(updated_at=timezone.now(), **fields)


def _reported(task):
    """A task whose unexpected failure ends its job as failed, with the reason, instead of leaving
    it running for ever; the error still reaches Celery's log."""
    @functools.wraps(task)
    def run(job_uid: str, *args):
        try:
            return task(job_uid, *args)
        except Exception as exc:
            _update(job_uid, state="failed", detail=f"{exc.__class__.__name__}: {exc}"[:500])
            raise
    return run


def close_areas_start(*, user, period: str, areas: list[str]) -> JobProgress:
    job = job_start(kind="close", user=user, total=len(areas))
    transaction.on_commit(lambda: close_areas.delay(str(job.uid), user.pk, period, areas))
    return job


def export_start(*, user, statement_uid: str, fmt: str) -> JobProgress:
    job = job_start(kind=f"export-{fmt}", user=user, total=1)
    transaction.on_commit(lambda: export_statement.delay(str(job.uid), user.pk, statement_uid, fmt))
    return job


@shared_task(name="settlement.close_areas")
@_reported
def close_areas(job_uid: str, user_id: int, period: str, areas: list[str]) -> None:
    """Submit a period_close for each area, counting as it goes (each close is one transaction)."""
    user = User.objects.get(pk=user_id)
    _update(job_uid, state="running")
    failures = []
    for n, area in enumerate(areas, start=1):
        try:
            period_close(user, area=area, period=period)
        except ValidationError as exc:  # as the page and the API say it: "period: the period ... is not over yet"
            failures.append(f"{area}: {validation_reason(exc)}")
        except Exception as exc:  # one area's refusal must not stop the others; it is reported
            failures.append(f"{area}: {exc}")
        _update(job_uid, done=n)
    _update(job_uid, state="failed" if failures and len(failures) == len(areas) else "done",
            detail="; ".join(failures)[:500])


@shared_task(name="settlement.export_statement")
@_reported
def export_statement(job_uid: str, user_id: int, statement_uid: str, fmt: str) -> None:
    user = User.objects.get(pk=user_id)
    statement = statements_for(user).filter(uid=statement_uid).first()
    if statement is None:
        _update(job_uid, state="failed", detail="no such statement")
        return
    _update(job_uid, state="running")
    view = statement_view(user, statement)
    items = view["items"]
    _update(job_uid, total=max(len(items), 1))
    money = view["money"] if view["complete"] else None
    if fmt == "pdf":
        data = exports.statement_pdf(statement, items, money, progress=lambda n: _update(job_uid, done=n))
        name = f"statement-{statement.period}-{statement.area.code}-{statement.operator.code}.pdf"
    else:
        data = exports.statement_csv(statement, items, money)
        name = f"statement-{statement.period}-{statement.area.code}-{statement.operator.code}.csv"
    _update(job_uid, state="done", done=max(len(items), 1), result=data, result_name=name)


@shared_task(name="settlement.expire_jobs")
def expire_jobs() -> dict:
    """Jobs queued or running with no progress for PILECHAIN_JOB_STALE_MINUTES become failed (their
    worker is gone: start them again); jobs older than PILECHAIN_JOB_KEEP_DAYS are deleted with their
    files. Node-local rows only: nothing here touches the ledger."""
    now = timezone.now()
    stale_minutes = settings.SETTLEMENT_JOB_STALE_MINUTES
    stale = JobProgress.objects.filter(state__in=("queued", "running"),
                                       updated_at__lt=now - dt.timedelta(minutes=stale_minutes))
    failed = stale.update(state="failed", updated_at=now,
                          detail=f"stopped: no progress for {stale_minutes} minutes (its worker may have died); start it again")
    deleted, _ = JobProgress.objects.filter(created_at__lt=now - dt.timedelta(days=settings.SETTLEMENT_JOB_KEEP_DAYS)).delete()
    if failed or deleted:
        logger.info("jobs expired", extra={"failed": failed, "deleted": deleted})
    return {"failed": failed, "deleted": deleted}
