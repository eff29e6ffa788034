"""Settlement's contracts for charging sessions, opened and closed by the pile operator's node.

The gateway observes a pile's OCPP transaction; the operator's node signs on the pile's behalf and
names the pile in the payload. Every node re-checks that the signer operates that pile, verifies the
OCMF records the pile's meter signed against the meter keys registered for it, and adds the closed
session to the totals (settlement.contracts.totals).

Sessions are the busiest transactions of the ledger (every pile, several times a day), so both types
are applied in runs (ledger.runs): a run reads its piles, sessions, keys, tariffs and compliance in a
few queries (settlement.contracts.session_reads), decides each transaction in block order, and writes the
sessions and the totals in bulk.
"""

from __future__ import annotations

import re

from ledger.contracts import NODE, aware_time, register_run
from ledger.state.rows import entry_bytes, new_row
from registry.models import Pile
from registry.models.piles import PileStatus
from settlement.identifiers import is_id_tag_pseudonym, session_uid
from settlement.models import ChargingSession, SessionStatus
from settlement.contracts.session_reads import CLOSE, OPEN, SessionReads, canonical_uid
from settlement.signed_data import MAX_RECORDS, check_records
from settlement.contracts.totals import TotalsDelta, assess, session_parts

OPEN_FIELDS = {"pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "meter_start_wh"}
CLOSE_FIELDS = {"pile", "session", "stopped_at", "meter_stop_wh", "stop_reason", "signed_data"}
PROTOCOLS = {"ocpp1.6", "ocpp2.0.1"}
TEXT = re.compile(r"^[\x20-\x7e]{0,64}$")
MAX_WH = 10**15
MAX_RECORD_CHARS = 20000
CLOSED_FIELDS = ("stopped_at", "meter_stop_wh", "stop_reason", "signed_data", "signature_ok", "signature_detail",
                 "signed_energy_wh", "closed_tx", "closed_height", "energy_wh", "status", "status_detail",
                 "held_reason", "parts")


@register_run(OPEN, CLOSE, signer_kinds=(NODE,), roles={"operator"})
def apply_sessions(run):
    """Open and close charging sessions observed by the operator's gateway."""
    reads = SessionReads(run, height=run.items[0].block_height)
    totals = TotalsDelta()
    for ctx in run:
        with run.item(ctx):
            if ctx.tx.type == OPEN:
                _open(ctx, reads)
            else:
                _close(ctx, reads, totals)
    totals.stage(run)


def _pile_of_signer(ctx, reads: SessionReads, code) -> Pile:
    if not isinstance(code, str):
        ctx.reject("pile must be a pile code")
    pile = reads.piles.get(code)
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


def _id_tag(ctx, value) -> str:
    """The ledger carries a driver's pseudonym, never the tag (PIPL; settlement.pseudonyms)."""
    if not is_id_tag_pseudonym(value):
        ctx.reject("id_tag must be the operator node's pseudonym of the tag (64 lower-case hex characters) "
                   "or empty; the raw id tag never goes on the ledger")
    return value


def _open(ctx, reads: SessionReads) -> None:
    p = ctx.tx.payload
    if set(p) != OPEN_FIELDS:
        ctx.reject(f"a session opens with exactly {', '.join(sorted(OPEN_FIELDS))}")
    pile = _pile_of_signer(ctx, reads, p["pile"])
    if pile.status == PileStatus.RETIRED:
        ctx.reject(f"pile {pile.code} is retired")
    connector_id = p["connector_id"]
    if not isinstance(connector_id, int) or isinstance(connector_id, bool) or connector_id < 1:
        ctx.reject("connector_id must be a positive integer")
    if (pile.pk, connector_id) not in reads.connectors:
        ctx.reject(f"pile {pile.code} has no connector {connector_id}")
    transaction_id = _text(ctx, p["transaction_id"], "transaction_id")
    if not transaction_id:
        ctx.reject("transaction_id is empty")
    if p["protocol"] not in PROTOCOLS:
        ctx.reject("protocol must be ocpp1.6 or ocpp2.0.1")
    started_at = aware_time(ctx, p["started_at"], "started_at")
    uid = session_uid(pile.code, transaction_id, p["started_at"])
    if str(uid) in reads.sessions:
        ctx.reject("this session is already open")
    session = new_row(
        ChargingSession, uid=uid, pile=pile, connector_id=connector_id, transaction_id=transaction_id,
        id_tag=_id_tag(ctx, p["id_tag"]), protocol=p["protocol"], started_at=started_at,
        meter_start_wh=_wh(ctx, p["meter_start_wh"], "meter_start_wh"), status=SessionStatus.OPEN,
        opened_tx=ctx.tx.id, opened_height=ctx.block_height,
    )
    ctx.stage_insert(session)
    reads.sessions[str(uid)] = session


def _close(ctx, reads: SessionReads, totals: TotalsDelta) -> None:
    """Close a session with its final reading and the meter's signed records, verified here."""
    p = ctx.tx.payload
    if set(p) != CLOSE_FIELDS:
        ctx.reject(f"a session closes with exactly {', '.join(sorted(CLOSE_FIELDS))}")
    pile = _pile_of_signer(ctx, reads, p["pile"])
    session = reads.sessions.get(canonical_uid(p["session"]))
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
    stop_reason = _text(ctx, p["stop_reason"], "stop_reason")
    # Everything is checked: from here on the session changes, and nothing below rejects.
    check = check_records(records, reads.meter_keys(pile))
    old = entry_bytes(session)
    session.stopped_at = stopped_at
    session.meter_stop_wh = meter_stop
    session.stop_reason = stop_reason
    session.signed_data = records
    session.signature_ok = check.ok
    session.signature_detail = check.detail
    session.signed_energy_wh = check.energy_wh
    session.closed_tx = ctx.tx.id
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
    session.held_reason = assess(session, pile=pile, history=reads.history(pile),
                                 counted_spans=reads.counted_spans(pile, session.connector_id))
    session.parts = session_parts(session, tariffs=reads.tariffs(pile))
    ctx.stage_update(session, old=old, fields=CLOSED_FIELDS)
    if not session.held_reason:
        reads.add_counted(session)
    totals.add(session, pile)
