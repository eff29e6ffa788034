"""Sessions are applied in runs (ledger.runs): a block's consecutive opens and closes at once.

A run must mean what applying its transactions one by one means: the same rows whatever the blocks,
a rejection that keeps the others, a failure that falls back to one at a time, a repeat applied once.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.audit import audit_tables
from ledger.chain.block import BlockHeader, CommitCertificate, tx_root
from ledger.chain.tx import Transaction
from ledger.execution import apply_next_blocks, node_state, store_block
from ledger.models import Block, CommittedTx, Submission
from ledger.runtime import node
from ledger.services import node_submit
from ledger.state.rows import entry_bytes, state_of
from settlement.identifiers import session_uid
from settlement.models import ChargingSession, EnergyTotal
from tests.settlement.month import Month, local
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

TX_FIELDS = {"opened_tx", "closed_tx", "opened_height", "closed_height"}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def opening(pile, tid, start, *, connector=1, meter=100_000):
    return {"pile": pile, "connector_id": connector, "transaction_id": tid, "id_tag": "7" * 64, "protocol": "ocpp1.6",
            "started_at": _iso(start), "meter_start_wh": meter}


def closing(pile, tid, start, stop, wh, *, meter=100_000):
    return {"pile": pile, "session": str(session_uid(pile, tid, _iso(start))), "stopped_at": _iso(stop),
            "meter_stop_wh": meter + wh, "stop_reason": "Local", "signed_data": []}


def story():
    """(signer, type, payload): two piles, cross-band and month-end sessions, an overlap, a session
    above the rated power, a session closed before it opened."""
    d = local(2030, 3, 2, 9, 30)
    items = []
    for tid, start, hours, wh in (("a", d, 1, 6000), ("b", d + dt.timedelta(minutes=30), 1, 3000),
                                  ("c", d + dt.timedelta(days=1), 1, 7001),
                                  ("d", local(2030, 3, 31, 23), 2, 4000)):
        items.append(("OP-A", "settlement.session_open", opening("PILE-A1", tid, start)))
        items.append(("OP-A", "settlement.session_close",
                      closing("PILE-A1", tid, start, start + dt.timedelta(hours=hours), wh)))
    e = local(2030, 3, 5, 8)
    items.append(("OP-B", "settlement.session_open", opening("PILE-B1", "e", e, connector=2)))
    items.append(("OP-B", "settlement.session_close", closing("PILE-B1", "e", e, e + dt.timedelta(hours=1), 50000)))
    items.append(("OP-B", "settlement.session_close", closing("PILE-B1", "never", e, e, 1)))
    return items


def snapshot():
    sessions = {}
    for s in ChargingSession.objects.select_related("pile"):
        state = state_of(s)
        sessions[str(s.uid)] = {k: v for k, v in state.items() if k not in TX_FIELDS}
    return sessions, sorted(entry_bytes(t) for t in EnergyTotal.objects.select_related("pile"))


class _Undo(Exception):
    pass


def play(items, *, per_block: bool):
    """Submit and commit the story (all in one block, or one transaction per block); return the rows
    and the outcomes, then undo everything."""
    result = {}
    before = Block.objects.order_by("-height").values_list("height", flat=True).first()
    try:
        with transaction.atomic():
            for signer, type_, payload in items:
                node_submit(type=type_, payload=payload, institution=signer, check=False)
                if per_block:
                    commit_pending(at=local(2030, 4, 1, 12))
            commit_pending(at=local(2030, 4, 1, 12))
            result["rows"] = snapshot()
            result["outcomes"] = list(CommittedTx.objects.filter(block__height__gt=before)
                                      .order_by("block__height", "index").values_list("type", "status", "reason"))
            result["blocks"] = Block.objects.filter(height__gt=before).count()
            raise _Undo()
    except _Undo:
        pass
    return result


def test_one_block_or_one_transaction_per_block_gives_the_same_rows(world):
    Month(world).prepare()
    together = play(story(), per_block=False)
    apart = play(story(), per_block=True)
    assert together["blocks"] == 1 and apart["blocks"] == len(story())
    assert together["outcomes"] == apart["outcomes"]
    assert together["rows"] == apart["rows"]
    sessions, totals = together["rows"]
    held = sorted(s["held_reason"] for s in sessions.values() if s["held_reason"])
    assert held == ["overlapping", "power_above_rated", "unverified"]
    assert together["outcomes"][-1] == ("settlement.session_close", "rejected", f"pile PILE-B1 has no session "
                                        f"{session_uid('PILE-B1', 'never', _iso(local(2030, 3, 5, 8)))}")
    assert len(totals) >= 5


def test_a_rejection_in_a_run_keeps_the_others(world):
    start = local(2030, 3, 2, 9)
    items = [
        ("OP-A", "settlement.session_open", opening("PILE-A1", "ok", start)),
        ("OP-A", "settlement.session_open", opening("PILE-A1", "bad", start, connector=7)),
        ("OP-A", "settlement.session_open", opening("PILE-A1", "ok", start)),
        ("OP-B", "settlement.session_open", opening("PILE-A1", "theirs", start)),
        ("OP-A", "settlement.session_open", {**opening("PILE-A1", "x", start), "meter_start_wh": -1}),
        ("OP-A", "settlement.session_close", closing("PILE-A1", "ok", start, start + dt.timedelta(hours=1), 2000)),
        ("OP-A", "settlement.session_close", closing("PILE-A1", "ok", start, start + dt.timedelta(hours=1), 2000)),
        ("OP-B", "settlement.session_open", opening("PILE-B1", "b", start, connector=2)),
        ("OP-B", "settlement.session_close", {**closing("PILE-B1", "b", start, start, 1), "session": "not-a-uuid"}),
        ("OP-B", "settlement.session_close", {**closing("PILE-B1", "b", start, start, 1), "session": 42}),
    ]
    for signer, type_, payload in items:
        node_submit(type=type_, payload=payload, institution=signer, check=False)
    commit_pending(at=local(2030, 3, 2, 11))
    outcomes = list(CommittedTx.objects.filter(type__startswith="settlement.").order_by("block__height", "index")
                    .values_list("status", "reason"))
    assert outcomes == [
        ("applied", ""),
        ("rejected", "pile PILE-A1 has no connector 7"),
        ("rejected", "this session is already open"),
        ("rejected", "OP-B does not operate pile PILE-A1"),
        ("rejected", "meter_start_wh must be a whole number of Wh"),
        ("applied", ""),
        ("rejected", "the session is not open"),
        ("applied", ""),
        ("rejected", "pile PILE-B1 has no session not-a-uuid"),
        ("rejected", "pile PILE-B1 has no session 42"),
    ]
    ok = ChargingSession.objects.get(transaction_id="ok")
    assert (ok.status, ok.energy_wh, ok.held_reason) == ("closed", 2000, "unverified")
    assert set(ChargingSession.objects.values_list("transaction_id", flat=True)) == {"ok", "b"}
    assert EnergyTotal.objects.get(pile__code="PILE-A1").energy_wh == 2000
    assert audit_tables().ok


def test_a_run_that_fails_is_applied_one_transaction_at_a_time(world, monkeypatch):
    """An unexpected error inside a run (a bug, not a rejection) rolls the run back; every node then
    applies its transactions one by one, so only the transaction that fails is lost."""
    from settlement.contracts import sessions as session_contracts

    real = session_contracts.session_parts

    def failing(session, **kwargs):
        if session.energy_wh == 4242:
            raise ValueError("no split for 4242 Wh")
        return real(session, **kwargs)

    monkeypatch.setattr(session_contracts, "session_parts", failing)
    start = local(2030, 3, 2, 9)
    for tid, wh in (("a", 1000), ("boom", 4242), ("c", 3000)):
        node_submit(type="settlement.session_open", payload=opening("PILE-A1", tid, start), institution="OP-A",
                    check=False)
        node_submit(type="settlement.session_close", institution="OP-A", check=False,
                    payload=closing("PILE-A1", tid, start, start + dt.timedelta(minutes=10), wh))
        start += dt.timedelta(hours=1)
    commit_pending(at=local(2030, 3, 2, 14))
    outcomes = list(CommittedTx.objects.filter(type__startswith="settlement.").order_by("index")
                    .values_list("status", "reason"))
    assert outcomes[:3] == [("applied", ""), ("applied", ""), ("applied", "")]
    assert outcomes[3] == ("rejected", "contract_error")  # a stable code: the text is in the log
    assert outcomes[4:] == [("applied", ""), ("applied", "")]
    assert dict(ChargingSession.objects.values_list("transaction_id", "status")) == {
        "a": "closed", "boom": "open", "c": "closed"}
    assert EnergyTotal.objects.get(pile__code="PILE-A1").energy_wh == 4000
    assert audit_tables().ok


def test_a_transaction_repeated_in_a_run_is_applied_once(world):
    start = local(2030, 3, 2, 9)
    opened = node_submit(type="settlement.session_open", payload=opening("PILE-A1", "t", start), institution="OP-A",
                         check=False)
    closed = node_submit(type="settlement.session_close", institution="OP-A", check=False,
                         payload=closing("PILE-A1", "t", start, start + dt.timedelta(hours=1), 2500))
    txs = [Transaction.from_dict(s.body) for s in Submission.objects.filter(pk__in=[opened.pk, closed.pk])
           .order_by("pk")]
    tip = Block.objects.order_by("-height").first()
    header = BlockHeader(chain_id=node.consortium().chain_id, height=tip.height + 1, prev_hash=tip.hash,
                         timestamp_ms=int(local(2030, 3, 2, 11).timestamp() * 1000),
                         tx_root=tx_root([t.id for t in [txs[0], *txs, txs[1]]]), tx_count=4,
                         state_root=node_state().state_root, view=0, proposer="OP-A")
    store_block(header=header, transactions=[txs[0], *txs, txs[1]], certificate=CommitCertificate(view=0))
    Submission.objects.filter(pk__in=[opened.pk, closed.pk]).update(proposed=True)
    [applied] = apply_next_blocks(role_of=node.role_of)
    assert (applied.applied, applied.rejected) == (2, 2)
    assert ChargingSession.objects.get(transaction_id="t").energy_wh == 2500
    assert EnergyTotal.objects.get(pile__code="PILE-A1").sessions == 1
    assert audit_tables().ok


def _block_under(mode: str, monkeypatch) -> tuple[str, list]:
    """Commit the pending submissions in one block with the session runs applied at once ("run") or
    forced to their one-by-one fallback ("fallback"); return the state root and outcomes, then undo."""
    import dataclasses

    from ledger.contracts import contracts

    types = ("settlement.session_open", "settlement.session_close")
    if mode == "fallback":
        real = contracts.get(types[0]).run_handler

        def failing(run):  # a bug every node hits alike: the executor falls back to one at a time
            real(run)
            raise ValueError("the run fails after deciding")

        for type_ in types:
            monkeypatch.setitem(contracts._contracts, type_,
                                dataclasses.replace(contracts.get(type_), run_handler=failing))
    result = {}
    try:
        with transaction.atomic():
            commit_pending(at=local(2030, 4, 1, 12))
            result["root"] = node_state().state_root
            result["outcomes"] = list(CommittedTx.objects.order_by("-block__height", "index")
                                      .filter(block__height=Block.objects.order_by("-height").first().height)
                                      .values_list("status", flat=True))
            raise _Undo()
    except _Undo:
        pass
    monkeypatch.undo()
    return result["root"], result["outcomes"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=len(story()) - 1), min_size=1, max_size=12))
def test_a_run_and_its_fallback_write_the_same_bytes(world, monkeypatch, picks):
    """Random blocks of session opens and closes: the run at once and the one-by-one fallback record
    the same write set, so the same state root (the fallback must never fork a node)."""
    items = [story()[i] for i in picks]
    try:
        with transaction.atomic():  # each example from the same state
            Month(world).prepare()
            for signer, type_, payload in items:
                node_submit(type=type_, payload=payload, institution=signer, check=False)
            run_root, run_outcomes = _block_under("run", monkeypatch)
            fallback_root, fallback_outcomes = _block_under("fallback", monkeypatch)
            raise _Undo()
    except _Undo:
        pass
    assert fallback_outcomes == run_outcomes
    assert fallback_root == run_root
