"""What the in-process benchmarks apply blocks with: the executor's contract path, without consensus."""

from __future__ import annotations

import datetime as dt
import hashlib

SIGNATURE = "00" * 64  # the contract path never reads it; the replica checked it before ordering


class Chain:
    """Applies lists of transactions the way ledger.execution applies a block's, minus consensus and
    storage: real Transaction objects, run_contracts, and the state hashing of every write."""

    def __init__(self):
        from ledger.execution import node_state
        from ledger.state.muhash import MuHash

        self.height = node_state().applied_height + 1000
        self.rows = MuHash()
        self.writes = hashlib.sha256()
        self.n = 0
        self.applied = self.rejected = 0

    def transactions(self, items, *, signer: str):
        from ledger.chain.tx import Transaction

        txs = []
        for type_, payload in items:
            self.n += 1
            tx = Transaction(chain_id="pilechain-test", type=type_, payload=payload, signer=f"node:{signer}",
                             key_kind="ed25519", nonce=f"bench-{self.n}", signature=SIGNATURE)
            tx.id  # computed when the block arrived, before it is applied
            txs.append(tx)
        return txs

    def apply(self, txs, *, when: dt.datetime, role_of) -> None:
        from django.db import transaction
        from django.utils import translation

        from ledger import signers
        from ledger.chain.block import ZERO_HASH, BlockHeader
        from ledger.execution import ContractContext, fold_writes, run_contracts

        self.height += 1
        header = BlockHeader(chain_id="pilechain-test", height=self.height, prev_hash=ZERO_HASH,
                             timestamp_ms=int(when.timestamp() * 1000), tx_root=ZERO_HASH, tx_count=len(txs),
                             state_root=ZERO_HASH, view=0, proposer="OP-A")
        with translation.override("en"), signers.lookup_scope(), transaction.atomic():
            contexts = run_contracts([ContractContext(tx=tx, header=header, index=i, signer_role=role_of(tx.signer_id))
                                      for i, tx in enumerate(txs)], committed=set())
            for ctx in contexts:
                if ctx.status == "applied":
                    self.applied += 1
                    fold_writes(ctx.writes, self.rows, self.writes)
                else:
                    self.rejected += 1
                    if self.rejected <= 3:
                        print(f"  rejected {ctx.tx.type}: {ctx.reason}", flush=True)
                fold_writes(ctx.trailing, self.rows, self.writes)
