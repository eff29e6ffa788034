"""calibration.record_file: a metrology institute files a verification record for a pile.

Every node re-runs the whole check (box signature against the box's registered key, replay rule, the
box's certificate on the day it measured, the limits) and computes the conclusion itself; the payload
carries no verdict. The record is written once; the pile's compliance follows it from this block on.
"""

from __future__ import annotations

from calibration.contracts.filing import FilingError, check_filing, sealed_at
from calibration.models import ComplianceChange, ComplianceStatus, PileCompliance, VerificationRecord
from calibration.contracts.request_rows import close_requests
from ledger.contracts import NODE, register

FILE = "calibration.record_file"


@register(FILE, signer_kinds=(NODE,), roles={"metrology"})
def record_file(ctx, tx):
    """File a verification record (metrology institutes only)."""
    try:
        filing = check_filing(tx.payload, institution=ctx.signer_id, now=ctx.block_time)
    except FilingError as exc:
        ctx.reject(str(exc))
    record = filing.record
    judgement = filing.judgement
    conclusion = judgement.conclusion
    row = VerificationRecord(
        uid=ctx.derive_uuid("verification-record"), pile=filing.pile, test_box=filing.test_box,
        institution=ctx.signer_id, inspector=filing.inspector, kind=filing.kind, pile_kind=filing.pile.kind,
        accuracy_class=filing.pile.accuracy_class, time_of_use=filing.observations["time_of_use"],
        box_serial=record["box_serial"], sequence=record["sequence"],
        measured_at=sealed_at(record),
        measurement=record, observations=filing.observations, regulation=conclusion.regulation,
        data_revision=conclusion.data_revision, items=conclusion.to_dict()["items"], conclusion=conclusion.overall,
        next_due_on=judgement.next_due_on, corrects=filing.corrects, correction_reason=filing.correction_reason,
        height=ctx.block_height, filed_at=ctx.block_time, tx_id=tx.id,
    )
    ctx.save(row)
    status = ComplianceStatus.COMPLIANT if row.passed else ComplianceStatus.NON_COMPLIANT
    compliance = PileCompliance.objects.select_for_update().filter(pile=filing.pile).first()
    if compliance is None:
        compliance = PileCompliance(pile=filing.pile)
    if compliance.pk is None or compliance.status != status:
        compliance.since_height, compliance.since = ctx.block_height, ctx.block_time
    compliance.status, compliance.due_on, compliance.last_record = status, row.next_due_on, row
    ctx.save(compliance)
    ctx.save(ComplianceChange(
        uid=ctx.derive_uuid("compliance-change"), pile=filing.pile, status=status, height=ctx.block_height,
        tx_index=ctx.index, since=ctx.block_time, due_on=row.next_due_on, record=row,
    ))
    close_requests(ctx, pile=filing.pile, record=row)
