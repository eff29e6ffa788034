"""Reads of the calibration app for its pages and API: records, compliance (by calibration's rule), lists."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from calibration.contracts.compliance import NON_COMPLIANT, OVERDUE, UNVERIFIED, ComplianceHistory, standing_on
from calibration.contracts.requests import DUE_SOON_DAYS
from calibration.models import (
    ComplianceStatus, PileCompliance, RequestStatus, VerificationRecord, VerificationRequest,
)
from core import localtime
from ledger.models import Block
from registry.access import OWN, PRIVATE
from registry.models import FieldTestBox, Pile
from registry.models.testboxes import TestBoxStatus


@dataclass(frozen=True)
class ComplianceAnswer:
    """The standing of a pile at a block height or a moment: compliant, non_compliant, overdue (a
    compliant pile past its due date) or unverified (no record on the ledger yet)."""

    pile_code: str
    status: str
    since_height: int | None
    due_on: dt.date | None
    record_uid: str | None

    @property
    def compliant(self) -> bool:
        return self.status == ComplianceStatus.COMPLIANT


def compliance_at(pile, *, height: int | None = None, at: dt.datetime | None = None) -> ComplianceAnswer:
    """Was `pile` (a Pile or its code) compliant at block `height` or at moment `at` (either or both;
    neither: now)? Calibration's one rule (contracts.compliance), asked at `at`, else at the block's
    time, else now; a record filed in block H counts from H (and its block's time) on."""
    if not isinstance(pile, Pile):
        pile = Pile.objects.get(code=pile)
    if at is None:
        at = _block_time(height) if height is not None else dt.datetime.now(dt.timezone.utc)
    history = ComplianceHistory(pile, height=height, fields=(*ComplianceHistory.FIELDS, "height", "record__uid"))
    change = history.change_at(at)
    if change is None:
        return ComplianceAnswer(pile.code, UNVERIFIED, None, None, None)
    _, _, due_on, change_height, record_uid = change
    return ComplianceAnswer(pile.code, history.status_at(at), change_height, due_on, str(record_uid))


def _block_time(height: int) -> dt.datetime:
    block = Block.objects.filter(height__lte=height).order_by("-height").first()
    ms = block.timestamp_ms if block else 0
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=ms)


def visible_piles(user):
    """Piles whose calibration results the user may see: as private as a pile's private fields."""
    return Pile.objects.restrict(user, PRIVATE).select_related("station__operator", "station__grid_area")


def records_for(user):
    return (VerificationRecord.objects.restrict(user)
            .select_related("pile__station__operator", "test_box", "corrects"))


def record_get(user, uid):
    return records_for(user).filter(uid=uid).first()


def requests_for(user, *, open_only: bool = True):
    qs = VerificationRequest.objects.restrict(user).select_related("pile")
    return qs.filter(status=RequestStatus.OPEN) if open_only else qs


STATES = ("due", "overdue", "passed", "failed", "unverified")


def pile_rows(user, *, state: str = "", operator: str = "", area: str = "", date_from=None, date_to=None,
              today: dt.date | None = None):
    """One row per visible pile: (pile, compliance or None, state). States: due (within DUE_SOON_DAYS),
    overdue, passed, failed (non-compliant), unverified. date_from/to filter on the due date."""
    today = today or localtime.local_day(dt.datetime.now(dt.timezone.utc))
    piles = visible_piles(user).order_by("code")
    if operator:
        piles = piles.filter(station__operator__code__iexact=operator)
    if area:
        piles = piles.filter(station__grid_area__code__iexact=area)
    compliance = {c.pile_id: c for c in PileCompliance.objects.filter(pile__in=piles).select_related("last_record")}
    rows = []
    for pile in piles:
        c = compliance.get(pile.pk)
        row_state = _state(c, today)
        if state == "due" and row_state not in ("due", "overdue", "unverified"):
            continue
        if state and state != "due" and row_state != state:
            continue
        if date_from and (c is None or c.due_on < date_from):
            continue
        if date_to and (c is None or c.due_on > date_to):
            continue
        rows.append((pile, c, row_state))
    return rows


def _state(c, today: dt.date) -> str:
    if c is None:
        return UNVERIFIED
    standing = standing_on(c.status, c.due_on, today)
    if standing == NON_COMPLIANT:
        return "failed"
    if standing == OVERDUE:
        return OVERDUE
    if c.due_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
        return "due"
    return "passed"


def piles_needing_request(today: dt.date):
    """Compliance rows due within DUE_SOON_DAYS or overdue, whose pile has no open request."""
    open_piles = VerificationRequest.objects.filter(status=RequestStatus.OPEN).values("pile_id")
    return (PileCompliance.objects.filter(due_on__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
            .exclude(pile_id__in=open_piles).select_related("pile").order_by("pile__code"))


def search_piles(user, query: str, limit: int = 20):
    """Piles by code or station address/name, for the form's pile picker."""
    piles = visible_piles(user)
    if query:
        piles = piles.filter(Q(code__icontains=query) | Q(station__address__icontains=query)
                             | Q(station__name__icontains=query))
    return piles.order_by("code")[:limit]


def test_boxes_for(user):
    """The active test boxes the user's institution may file with: its own."""
    return FieldTestBox.objects.restrict(user, OWN).filter(status=TestBoxStatus.ACTIVE).order_by("serial")
