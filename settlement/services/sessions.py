"""Settlement's writes. Charging sessions are recorded by the gateway on behalf of a pile: the pile's
operator institution signs (its node must host that institution's key), the pile is named in the
payload, and the contract checks the two belong together."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import ValidationError

from core.submit import submit
from ledger.models import Submission
from ledger.runtime import node
from registry.models import Pile
from registry.models.piles import PileStatus
from settlement.identifiers import session_uid
from settlement.pseudonyms import id_tag_pseudonym
from settlement.signed_data import MAX_RECORDS


def _iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        raise ValidationError("times must be aware")
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def _operator_of(pile_code: str) -> tuple[Pile, str]:
    pile = Pile.objects.select_related("station__operator").filter(code__iexact=pile_code).first()
    if pile is None:
        raise ValidationError(f"no pile {pile_code}")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError(f"pile {pile.code} is retired")
    operator = pile.station.operator.code
    if not node.signs_for(operator):
        raise node.NotHosted(f"this node does not sign for {operator}, the operator of {pile.code}")
    return pile, operator


def session_open(
    *, pile: str, connector_id: int, transaction_id: str, id_tag: str, protocol: str, started_at: dt.datetime,
    meter_start_wh: int, submitted_by=None,
) -> tuple[Submission, uuid.UUID]:
    """Queue the opening of a session; returns the submission and the session's public id. `id_tag` is
    the raw tag the pile reported: the ledger gets only its pseudonym (settlement.pseudonyms)."""
    pile_row, operator = _operator_of(pile)
    if meter_start_wh < 0:
        raise ValidationError("meter_start_wh must not be negative")
    started = _iso(started_at)
    submission = submit(
        type="settlement.session_open",
        payload={
            "pile": pile_row.code, "connector_id": int(connector_id), "transaction_id": str(transaction_id),
            "id_tag": id_tag_pseudonym(id_tag or "", operator=operator), "protocol": protocol, "started_at": started, "meter_start_wh": int(meter_start_wh),
        },
        actor=submitted_by, institution=operator,
    )
    return submission, session_uid(pile_row.code, str(transaction_id), started)


def session_close(
    *, pile: str, session: uuid.UUID | str, stopped_at: dt.datetime, meter_stop_wh: int, stop_reason: str = "",
    signed_data: list[str] = (), submitted_by=None,
) -> Submission:
    """Queue the closing of a session with the OCMF records its meter signed (verified by the contract)."""
    pile_row, operator = _operator_of(pile)
    records = [r for r in signed_data if r][:MAX_RECORDS]
    return submit(
        type="settlement.session_close",
        payload={
            "pile": pile_row.code, "session": str(session), "stopped_at": _iso(stopped_at),
            "meter_stop_wh": int(meter_stop_wh), "stop_reason": (stop_reason or "")[:64], "signed_data": records,
        },
        actor=submitted_by, institution=operator,
        # The opening may still be pending: the contract checks against the state it commits on.
        check=False,
    )
