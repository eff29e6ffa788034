"""Null blocks through the real executor (issue #15): a NEW-VIEW's gap filler commits to no time and
no state (its header's state_root is zero), so applying it leaves the state and its root as they
were, does not mark the node diverged, and the next block chains on with that same root."""

from __future__ import annotations

import pytest

from ledger.audit import audit_tables
from ledger.chain.block import BlockHeader, CommitCertificate, ZERO_HASH, tx_root
from ledger.chain.crypto import SigningKey
from ledger.chain.tx import Transaction
from ledger.execution import Diverged, apply_next_blocks, node_state, replay_all, store_block
from ledger.models import Anchor, Block
from ledger.pbft.log import is_null_header, null_header

pytestmark = pytest.mark.django_db

KEY = SigningKey.from_seed(b"\x01" * 32)


def role_of(code):
    return {"OPERATOR-A": "operator"}.get(code)


def anchor_tx(n: int) -> Transaction:
    payload = {"kind": "telemetry", "root": f"{n:02x}" * 32, "count": 10}
    return Transaction.create(chain_id="test", type="ledger.anchor", payload=payload, signer="node:OPERATOR-A",
                              key=KEY, nonce=f"n{n}")


def real_block(height: int, prev: Block | None, txs, state_root: str) -> Block:
    header = BlockHeader("test", height, prev.hash if prev else ZERO_HASH, 1_760_000_000_000 + height * 1000,
                         tx_root([t.id for t in txs]), len(txs), state_root, 0, "OPERATOR-A")
    return store_block(header=header, transactions=list(txs), certificate=CommitCertificate(view=0))


def null_block(height: int, prev: Block, txs=()) -> Block:
    header = null_header("test", height, prev.hash, 1, "R1")
    assert is_null_header(header)
    return store_block(header=header, transactions=list(txs), certificate=CommitCertificate(view=1))


def apply():
    return apply_next_blocks(role_of=role_of)


def test_a_null_block_leaves_the_state_root_and_the_next_block_chains_on():
    b1 = real_block(1, None, [anchor_tx(1)], node_state().state_root)
    [done1] = apply()
    root1 = done1.state_root
    assert root1 != b1.header["state_root"]

    b2 = null_block(2, b1)
    [done2] = apply()
    state = node_state()
    assert (done2.height, done2.state_root, done2.applied, done2.rejected) == (2, root1, 0, 0)
    assert (state.applied_height, state.state_root, state.diverged) == (2, root1, False)
    assert Block.objects.get(height=2).applied and Block.objects.get(height=2).state_root_after == root1

    # The next real block carries the root from before the gap, and applies on top of it.
    real_block(3, b2, [anchor_tx(3)], root1)
    [done3] = apply()
    state = node_state()
    assert done3.applied == 1 and done3.state_root not in (root1, ZERO_HASH)
    assert (state.applied_height, state.state_root, state.diverged) == (3, done3.state_root, False)
    assert Anchor.objects.count() == 2
    assert audit_tables().ok

    # Replaying the chain from the store gives the same root through the null block.
    assert replay_all(role_of=role_of) == 3
    assert node_state().state_root == done3.state_root
    assert Block.objects.get(height=2).state_root_after == root1


def test_a_block_after_a_null_block_that_claims_another_root_still_diverges():
    b1 = real_block(1, None, [anchor_tx(1)], node_state().state_root)
    apply()
    b2 = null_block(2, b1)
    apply()
    real_block(3, b2, [anchor_tx(3)], "cd" * 32)
    with pytest.raises(Diverged):
        apply()
    assert node_state().diverged and node_state().applied_height == 2


def test_a_null_header_with_transactions_is_refused_as_divergence():
    b1 = real_block(1, None, [anchor_tx(1)], node_state().state_root)
    apply()
    null_block(2, b1, txs=[anchor_tx(2)])
    with pytest.raises(Diverged, match="null block 2 holds transactions"):
        apply()
    assert node_state().applied_height == 1 and node_state().diverged
