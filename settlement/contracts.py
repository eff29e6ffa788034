"""Settlement's contracts: charging sessions opened and closed by the pile operator's node.

The gateway observes a pile's OCPP transaction; the operator's node signs on the pile's behalf and
names the pile in the payload. Every node re-checks that the signer operates that pile, and verifies
the OCMF records the pile's meter signed against the meter keys registered for it.
"""

from __future__ import annotations

import re

from ledger.contracts import NODE, aware_time, register
from registry.models import DeviceKey, Pile
from registry.models.keys import KeyPurpose, KeyStatus
from registry.models.piles import PileStatus
from settlement.identifiers import session_uid
from settlement.models import ChargingSession, SessionStatus
from settlement.signed_data import MAX_RECORDS, check_records

OPEN_FIELDS = {"pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "meter_start_wh"}
CLOSE_FIELDS = {"pile", "session", "stopped_at", "meter_stop_wh", "stop_reason", "signed_data"}
PROTOCOLS = {"ocpp1.6", "ocpp2.0.1"}
TEXT = re.compile(r"^[\x20-\x7e]{0,64}$")
MAX_WH = 10**15
MAX_RECORD_CHARS = 20000


def _pile_of_signer(ctx, code) -> Pile:
    if not isinstance(code, str):
        ctx.reject("pile must be a pile code")
    pile = Pile.objects.select_related("station__operator").filter(code=code).first()
    if pile is None:
        ctx.reject(f"no pile {code}")
    if pile.station.operator.code != ctx.signer_id:
        ctx.reject(f"{ctx.signer_id} does not operate pile {code}")
    return pile



def _wh(ctx, value, name) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WH:
        ctx.reject(f"{name} must be a whole number of Wh")
    return value


def _text(ctx, value, name) -> str:
    if not isinstance(value, str) or not TEXT.match(value):
        ctx.reject(f"{name} must be printable text of at most 64 characters")
    return value


@register("settlement.session_open", signer_kinds=(NODE,), roles={"operator"})
def session_open(ctx, tx):
    """Open a charging session observed by the operator's gateway."""
    p = tx.payload
    if set(p) != OPEN_FIELDS:
        ctx.reject(f"a session opens with exactly {', '.join(sorted(OPEN_FIELDS))}")
    pile = _pile_of_signer(ctx, p["pile"])
    if pile.status == PileStatus.RETIRED:
        ctx.reject(f"pile {pile.code} is retired")
    connector_id = p["connector_id"]
    if not isinstance(connector_id, int) or isinstance(connector_id, bool) or connector_id < 1:
        ctx.reject("connector_id must be a positive integer")
    if not pile.connectors.filter(connector_id=connector_id).exists():
        ctx.reject(f"pile {pile.code} has no connector {connector_id}")
    transaction_id = _text(ctx, p["transaction_id"], "transaction_id")
    if not transaction_id:
        ctx.reject("transaction_id is empty")
    if p["protocol"] not in PROTOCOLS:
        ctx.reject("protocol must be ocpp1.6 or ocpp2.0.1")
    started_at = aware_time(ctx, p["started_at"], "started_at")
    uid = session_uid(pile.code, transaction_id, p["started_at"])
    if ChargingSession.objects.filter(uid=uid).exists():
        ctx.reject("this session is already open")
    ctx.save(ChargingSession(
        uid=uid, pile=pile, connector_id=connector_id, transaction_id=transaction_id,
        id_tag=_text(ctx, p["id_tag"], "id_tag"), protocol=p["protocol"], started_at=started_at,
        meter_start_wh=_wh(ctx, p["meter_start_wh"], "meter_start_wh"), status=SessionStatus.OPEN,
        opened_tx=tx.id, opened_height=ctx.block_height,
    ))


@register("settlement.session_close", signer_kinds=(NODE,), roles={"operator"})
def session_close(ctx, tx):
    """Close a session with its final reading and the meter's signed records, verified here."""
    p = tx.payload
    if set(p) != CLOSE_FIELDS:
        ctx.reject(f"a session closes with exactly {', '.join(sorted(CLOSE_FIELDS))}")
    pile = _pile_of_signer(ctx, p["pile"])
    session = ChargingSession.objects.filter(uid=p["session"] if isinstance(p["session"], str) else None).first()
    if session is None or session.pile_id != pile.pk:
        ctx.reject(f"pile {pile.code} has no session {p['session']}")
    if session.status != SessionStatus.OPEN:
        ctx.reject("the session is not open")
    stopped_at = aware_time(ctx, p["stopped_at"], "stopped_at")
    meter_stop = _wh(ctx, p["meter_stop_wh"], "meter_stop_wh")
    records = p["signed_data"]
    if (
        not isinstance(records, list) or len(records) > MAX_RECORDS
        or not all(isinstance(r, str) and 0 < len(r) <= MAX_RECORD_CHARS for r in records)
    ):
        ctx.reject(f"signed_data must be a list of at most {MAX_RECORDS} OCMF strings")
    keys = list(
        DeviceKey.objects.filter(pile=pile, purpose=KeyPurpose.METER, status=KeyStatus.ACTIVE)
        .order_by("fingerprint").values_list("public_key_hex", flat=True)
    )
    check = check_records(records, keys)
    session.stopped_at = stopped_at
    session.meter_stop_wh = meter_stop
    session.stop_reason = _text(ctx, p["stop_reason"], "stop_reason")
    session.signed_data = records
    session.signature_ok = check.ok
    session.signature_detail = check.detail
    session.signed_energy_wh = check.energy_wh
    session.closed_tx = tx.id
    session.closed_height = ctx.block_height
    problems = []
    if stopped_at < session.started_at:
        problems.append("the session stops before it starts")
    if meter_stop < session.meter_start_wh:
        problems.append("the meter went backwards")
    session.energy_wh = None if problems else meter_stop - session.meter_start_wh
    if check.ok is False:
        session.status = SessionStatus.SIGNATURE_FAILED
        session.status_detail = "the meter's signature does not verify"
    elif problems:
        session.status = SessionStatus.DISPUTED
        session.status_detail = "; ".join(problems)
    else:
        session.status = SessionStatus.CLOSED
        session.status_detail = ""
    ctx.save(session)
    # Every node adds the closed session to the totals per (pile, period, band), counted or held.
    from settlement.totals import record_session

    record_session(ctx, session, pile=pile)
