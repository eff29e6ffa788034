"""Reporting faults to the ledger: once per ongoing fault, signed by the pile's operator's node."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from django.core.exceptions import ValidationError

from core.submit import submit
from ledger.runtime import node
from monitoring import alert_fanout, alerts, conf
from monitoring.detection import Finding
from monitoring.models import FaultWatch

logger = logging.getLogger("pilechain.monitoring")

FAULT_REPORT = "monitoring.fault_report"


def fault_payload(*, pile, connector_id: int, finding: Finding, detected_at: dt.datetime) -> dict:
    return {
        "pile": pile.code, "connector_id": connector_id, "kind": finding.kind, "severity": finding.severity,
        "error_code": finding.error_code, "detail": finding.detail, "metering": finding.metering,
        "detected_at": detected_at.astimezone(dt.timezone.utc).isoformat(),
        "due_hours": conf.due_hours(finding.severity),
    }


def fault_detected(*, pile, connector_id: int, finding: Finding, detected_at: dt.datetime):
    """Report a fault unless the same one (pile, connector, kind) is already ongoing here.
    Returns the Submission, or None when deduplicated."""
    if FaultWatch.objects.filter(pile=pile, connector_id=connector_id, kind=finding.kind, cleared_at__isnull=True).exists():
        return None
    payload = fault_payload(pile=pile, connector_id=connector_id, finding=finding, detected_at=detected_at)
    try:
        node.signing_key_for(pile.station.operator.code)
    except (node.NotHosted, node.NotConfigured) as exc:
        # Only the operator's node reports its piles' faults; telemetry is still stored.
        logger.warning("fault on %s not reported: %s", pile.code, exc)
        return None
    with transaction.atomic():
        try:
            submission = submit(type=FAULT_REPORT, payload=payload, institution=pile.station.operator)
        except ValidationError as exc:  # core.errors.Refused
            # E.g. the fault is already being handled under an open work order: nothing new to report.
            logger.info("fault on %s#%s not reported: %s", pile.code, connector_id, exc)
            return None
        try:
            with transaction.atomic():
                FaultWatch.objects.create(
                    pile=pile, connector_id=connector_id, kind=finding.kind, tx_id=submission.tx_id, opened_at=detected_at
                )
        except IntegrityError:  # a concurrent detection of the same fault won; drop this copy
            transaction.set_rollback(True)
            return None
    alert = alerts.build(phase="reported", tx_id=submission.tx_id, pile=pile, payload=payload)
    transaction.on_commit(lambda: alert_fanout.publish(alert))
    return submission


def ongoing(*, pile_ids, kind: str) -> set[tuple[int, int]]:
    """(pile id, connector) of the ongoing faults of `kind` among these piles, in one query (most
    status changes end no fault: clear only where one is ongoing)."""
    return set(FaultWatch.objects.filter(pile_id__in=sorted(set(pile_ids)), kind=kind, cleared_at__isnull=True)
               .values_list("pile_id", "connector_id"))


def fault_cleared(*, pile, connector_id: int, kind: str, at: dt.datetime) -> int:
    """The condition ended: a later occurrence is a new fault."""
    return FaultWatch.objects.filter(pile=pile, connector_id=connector_id, kind=kind, cleared_at__isnull=True).update(
        cleared_at=at
    )
