"""Proofs that a reading is in a batch whose Merkle root a committed ledger.anchor transaction holds."""

from __future__ import annotations

from ledger.chain.merkle import MerkleTree, leaf_hash, proof_to_hex
from ledger.models import CommittedTx
from ledger.selectors import tx_receipt
from monitoring.leaves import reading_leaf
from monitoring.models import Reading


def visible_reading(*, user, reading_id: int) -> Reading | None:
    return Reading.objects.restrict(user).select_related("pile", "batch").filter(id=reading_id).first()


def reading_proof(*, reading: Reading) -> dict:
    """{"status": "unanchored" | "pending" | "committed" | "rejected", ...}: once committed, the leaf,
    its audit path, the batch root, and the anchor transaction with its receipt (header and commit
    certificate included), which a light client checks against the headers it trusts."""
    base = {"reading_id": reading.id, "leaf": reading_leaf(reading, reading.pile.code).decode()}
    batch = reading.batch
    if batch is None:
        return {**base, "status": "unanchored"}
    index = Reading.objects.filter(batch=batch, id__lt=reading.id).count()  # leaves are in id order
    blob = bytes(batch.leaf_hashes)
    tree = MerkleTree([blob[i:i + 32] for i in range(0, len(blob), 32)])
    receipt = tx_receipt(batch.tx_id)
    committed = CommittedTx.objects.filter(tx_id=batch.tx_id).first()
    status = "pending" if committed is None else ("committed" if committed.status == "applied" else "rejected")
    return {
        **base,
        "status": status,
        "batch": str(batch.uid),
        "root": batch.root,
        "index": index,
        "tree_size": tree.size,
        "leaf_matches": tree.leaf_hash(index) == leaf_hash(base["leaf"].encode()),
        "proof": proof_to_hex(tree.inclusion_proof(index)),
        "anchor_tx": committed.body if committed is not None else None,
        "anchor_receipt": receipt,
    }
