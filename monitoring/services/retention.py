"""Retention: anchored telemetry older than the retention period is deleted, batch by batch.

A reading's proof needs every leaf of its batch, so a batch goes as a whole, and only once its
anchor is committed (the root stays in the AnchorBatch row and on the chain). Readings never
anchored are kept whatever their age: deleting them would lose data no one can prove. Status events,
and the connection, authorization and signed register history the interval reports are made from,
go after the status retention period.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ledger.models import CommittedTx
from monitoring import conf
from monitoring.models import AnchorBatch, AuthorizationAttempt, ConnectionEvent, Reading, SignedReading, StatusEvent


def apply_retention(*, now=None, max_batches: int = 200) -> dict:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=conf.retention_days())
    committed = CommittedTx.objects.filter(status="applied").values("tx_id")
    old_batches = (
        AnchorBatch.objects.filter(tx_id__in=committed, readings__isnull=False)
        .annotate(newest=Max("readings__ts")).filter(newest__lt=cutoff).order_by("id")[:max_batches]
    )
    readings = 0
    for batch in old_batches:
        with transaction.atomic():
            readings += Reading.objects.filter(batch=batch).delete()[0]
    status_cutoff = now - dt.timedelta(days=conf.status_retention_days())
    statuses = StatusEvent.objects.filter(ts__lt=status_cutoff).delete()[0]
    # What the interval reports were made from: they are on the ledger long before this.
    history = sum(model.objects.filter(ts__lt=status_cutoff).delete()[0]
                  for model in (ConnectionEvent, AuthorizationAttempt, SignedReading))
    return {"readings": readings, "status_events": statuses, "interval_history": history}
