"""Writes of the calibration app: each checks the acting user's authority and the input against
committed state, then submits a transaction signed by the user's institution's node."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from calibration.contracts.records import FILE
from calibration.contracts.requests import OPEN
from calibration.contracts.filing import FilingError, check_filing
from calibration.selectors import piles_needing_request
from core import localtime
from core.errors import Refused
from core.submit import submit
from ledger.models import Submission, TxStatus
from ledger.runtime import node
from registry.access import member_institution
from registry.roles import InstitutionRole, StaffRole

FILING_STAFF = (StaffRole.MANAGER, StaffRole.ENGINEER)


def may_file(user) -> bool:
    institution = member_institution(user)
    return bool(institution and institution.role == InstitutionRole.METROLOGY
                and user.staff_role in FILING_STAFF)


def require_filer(user):
    if not may_file(user):
        raise PermissionDenied(_("Only the calibration staff of a metrology institute may file verification records."))
    return member_institution(user)


def filing_payload(*, record: dict, kind: str, observations: dict, inspector: str,
                   corrects: str | None = None, correction_reason: str = "") -> dict:
    payload = {"record": record, "kind": kind, "observations": observations, "inspector": inspector}
    if corrects:
        payload["corrects"] = str(corrects)
        payload["correction_reason"] = correction_reason
    return payload


def record_file(actor, *, record: dict, kind: str, observations: dict, corrects: str | None = None,
                correction_reason: str = "") -> Submission:
    """Submit a verification record; raises PermissionDenied or FilingError (with .code) before anything
    is submitted. The conclusion is computed here for the preview and again by every node."""
    institution = require_filer(actor)
    inspector = actor.get_full_name() or actor.get_username()
    payload = filing_payload(record=record, kind=kind, observations=observations, inspector=inspector,
                             corrects=corrects, correction_reason=correction_reason)
    check_filing(payload, institution=institution.code, now=timezone.now())
    if pending_filing(record) is not None:
        raise FilingError(_("This box record (%(box)s, sequence %(seq)s) was already submitted and awaits commit.")
                          % {"box": record["box_serial"], "seq": record["sequence"]}, "duplicate")
    try:
        return submit(type=FILE, payload=payload, actor=actor, institution=institution)
    except Refused as exc:  # the contract's own dry run: the same checks, so rare
        raise FilingError(exc.reason) from None


def pending_filing(record: dict) -> Submission | None:
    """A filing of the same box record that is still pending on this node."""
    return (Submission.objects.filter(type=FILE, status=TxStatus.PENDING,
                                      body__payload__record__box_serial=record.get("box_serial"),
                                      body__payload__record__sequence=record.get("sequence"))
            .order_by("submitted_at").first())


def request_open(actor, *, pile: str, reason: str = "requested", reference: str = "") -> Submission:
    """Ask the metrology institutes to verify a pile (the periodic task uses due_soon / overdue)."""
    institution = member_institution(actor)
    if institution is None or institution.role not in (InstitutionRole.OPERATOR, InstitutionRole.METROLOGY,
                                                       InstitutionRole.REGULATOR):
        raise PermissionDenied(_("You may not request verifications."))
    payload = {"pile": pile, "reason": reason}
    if reference:
        payload["reference"] = reference
    return submit(type=OPEN, payload=payload, actor=actor, institution=institution)


def raise_due_requests(*, today=None, institution: str | None = None) -> list[Submission]:
    """This node's periodic duty (metrology nodes): ask for the verification of every pile that comes due
    within DUE_SOON_DAYS or is overdue and has no open request. Signed by this node; the contract
    re-checks the due date against the block time, and deduplicates against any request opened meanwhile."""
    code = institution or node.me().code  # another (hosted) member only in tests and single-host demos
    if node.role_of(code) != InstitutionRole.METROLOGY:
        return []
    today = today or localtime.local_day(dt.datetime.now(dt.timezone.utc))
    submitted = []
    for compliance in piles_needing_request(today):
        reason = "overdue" if compliance.due_on < today else "due_soon"
        try:
            submitted.append(submit(type=OPEN, payload={"pile": compliance.pile.code, "reason": reason},
                                    institution=code))
        except Refused:
            continue  # e.g. its due date moved in a block committed since the query
    return submitted
