"""Applying committed blocks: contracts, authority, rejections, the state root, the audit, replay.
Blocks are built here as the replica would hand them out; consensus itself is tested elsewhere."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connection

from ledger.audit import audit_tables
from ledger.chain.block import BlockHeader, CommitCertificate, tx_root
from ledger.chain.crypto import SigningKey
from ledger.chain.tx import Transaction
from ledger.execution import Diverged, apply_next_blocks, node_state, replay_all, store_block
from ledger.models import Anchor, Block, CommittedTx, NodeState
from ledger.state.muhash import MuHash

pytestmark = pytest.mark.django_db

ROLES = {"OPERATOR-A": "operator", "METROLOGY": "metrology", "GRID": "grid", "REGULATOR": "regulator"}
KEYS = {code: SigningKey.from_seed(bytes([i + 1]) * 32) for i, code in enumerate(ROLES)}
_nonce = itertools.count()


def role_of(code):
    return ROLES.get(code)


def anchor_tx(signer="OPERATOR-A", **payload):
    body = {"kind": "telemetry", "root": "ab" * 32, "count": 10, **payload}
    key = KEYS.get(signer, SigningKey.from_seed(b"\x09" * 32))
    return Transaction.create(chain_id="test", type="ledger.anchor", payload=body, signer=f"node:{signer}",
                              key=key, nonce=str(next(_nonce)))


def commit(*txs) -> Block:
    """Store the next block the way the driver does, with the state root this node holds."""
    state = node_state()
    tip = Block.objects.order_by("-height").first()
    header = BlockHeader(
        chain_id="test", height=(tip.height if tip else 0) + 1, prev_hash=tip.hash if tip else "00" * 32,
        timestamp_ms=1_760_000_000_000 + (tip.height if tip else 0) * 1000, tx_root=tx_root([t.id for t in txs]),
        tx_count=len(txs), state_root=tip.header["state_root"] if tip and not tip.applied else state.state_root,
        view=0, proposer="OPERATOR-A",
    )
    return store_block(header=header, transactions=list(txs), certificate=CommitCertificate(view=0))


def apply():
    return apply_next_blocks(role_of=role_of)


def test_an_anchor_is_applied_with_an_id_derived_from_its_transaction():
    tx = anchor_tx(reference="batch 1")
    commit(tx)
    [done] = apply()
    assert (done.applied, done.rejected) == (1, 0)
    anchor = Anchor.objects.get()
    assert anchor.tx_id == tx.id and anchor.height == 1 and anchor.institution == "OPERATOR-A"
    assert str(anchor.uid) == str(anchor.public_id)
    assert node_state().state_root == done.state_root == Block.objects.get(height=1).state_root_after


@pytest.mark.parametrize(
    "tx, reason",
    [
        (lambda: anchor_tx(signer="REGULATOR"), "a regulator institution may not do ledger.anchor"),
        (lambda: anchor_tx(signer="STRANGER"), "STRANGER is not a member of the consortium"),
        (lambda: anchor_tx(root="xyz"), "root must be 64 lower-case hex characters"),
        (lambda: anchor_tx(count=0), "count must be a positive integer"),
        (lambda: anchor_tx(extra="x"), "unexpected fields in an anchor"),
        (lambda: Transaction.create(chain_id="test", type="ledger.nothing", payload={}, signer="node:GRID",
                                    key=KEYS["GRID"], nonce="n"), "no contract for type ledger.nothing"),
    ],
)
def test_a_rejected_transaction_is_committed_with_its_reason_and_changes_nothing(tx, reason):
    good, bad = anchor_tx(), tx()
    commit(good, bad)
    [done] = apply()
    assert (done.applied, done.rejected) == (1, 1)
    assert CommittedTx.objects.get(tx_id=bad.id).reason == reason
    assert CommittedTx.objects.get(tx_id=bad.id).status == "rejected"
    assert list(Anchor.objects.values_list("tx_id", flat=True)) == [good.id]


def test_a_transaction_is_applied_at_most_once():
    tx = anchor_tx()
    commit(tx)
    apply()
    commit(tx, tx)  # a faulty block repeating it, twice: refused, not applied again
    [done] = apply()
    assert (done.applied, done.rejected) == (0, 2)
    assert Anchor.objects.count() == 1
    assert CommittedTx.objects.get(tx_id=tx.id).block.height == 1


def test_a_transaction_repeated_within_one_block_is_applied_once():
    tx = anchor_tx(reference="twice")
    commit(tx, tx)
    [done] = apply()
    assert (done.applied, done.rejected) == (1, 1)
    assert Anchor.objects.count() == 1
    assert CommittedTx.objects.get(tx_id=tx.id).status == "applied"


def test_state_roots_chain_and_replay_reproduces_them():
    roots = []
    for i in range(3):
        commit(anchor_tx(reference=f"b{i}"), anchor_tx(signer="GRID", reference=f"g{i}"))
        roots.append(apply()[0].state_root)
    assert len(set(roots)) == 3
    anchors = sorted(Anchor.objects.values_list("uid", "root", "height"))

    assert replay_all(role_of=role_of) == 3
    assert node_state().state_root == roots[-1]
    assert sorted(Anchor.objects.values_list("uid", "root", "height")) == anchors


@pytest.mark.django_db(transaction=True)
def test_the_audit_reads_the_tables_without_holding_up_blocks():
    """On PostgreSQL the audit reads a snapshot: a block being applied (holding the node's state row,
    its writes not committed yet) neither waits for the audit's read nor shows in it. SQLite has one
    writer at a time; there the audit locks the state row for its read, as a block does."""
    from ledger.audit import _tables_as_of_one_moment
    from ledger.state.rows import tables_digest

    commit(anchor_tx(), anchor_tx(reference="x"))
    apply()
    if connection.vendor != "postgresql":
        assert audit_tables().ok
        return

    class Rollback(Exception):
        pass

    held, release = threading.Event(), threading.Event()

    def apply_a_block_slowly():
        from django.db import connection as own, transaction

        try:
            with transaction.atomic():
                NodeState.objects.select_for_update().get()
                Anchor.objects.filter(reference="x").update(count=999)
                held.set()
                release.wait(30)
                raise Rollback
        except Rollback:
            pass
        finally:
            own.close()

    block = threading.Thread(target=apply_a_block_slowly)
    block.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting for the state row would fail here
        with _tables_as_of_one_moment() as state:
            expected, found = MuHash.from_hex(state.rows_muhash).digest(), tables_digest().digest()
        assert found == expected  # the block's uncommitted change is not in the snapshot
    finally:
        release.set()
        block.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert audit_tables().ok


def test_the_audit_finds_a_row_changed_behind_the_ledgers_back():
    commit(anchor_tx(), anchor_tx(reference="x"))
    apply()
    assert audit_tables().ok

    with connection.cursor() as cursor:  # raw SQL, as a careless administrator would
        cursor.execute("UPDATE ledger_anchor SET count = 999 WHERE reference = 'x'")
    result = audit_tables()
    assert not result.ok
    state = NodeState.objects.get()
    assert state.diverged and "audit" in state.diverged_reason

    commit(anchor_tx(reference="later"))
    with pytest.raises(Diverged):
        apply()  # a diverged node stops applying
    assert not Anchor.objects.filter(reference="later").exists()

    replay_all(role_of=role_of)  # rebuilt from the chain, it is whole again
    assert audit_tables().ok
    assert Anchor.objects.get(reference="x").count == 10


def test_a_block_committing_to_another_state_marks_the_node_diverged():
    commit(anchor_tx())
    apply()
    tip = Block.objects.get(height=1)
    header = BlockHeader(chain_id="test", height=2, prev_hash=tip.hash, timestamp_ms=1_760_000_009_000,
                         tx_root=tx_root([]), tx_count=0, state_root="cd" * 32, view=0, proposer="OPERATOR-A")
    store_block(header=header, transactions=[], certificate=CommitCertificate(view=0))
    with pytest.raises(Diverged):
        apply()
    assert NodeState.objects.get().diverged
    assert node_state().applied_height == 1
