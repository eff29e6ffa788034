"""Reads of the ledger: status, receipts, headers. Never through consensus: this node's tables."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Sum

from ledger.chain.block import BlockHeader, CommitCertificate
from ledger.chain.lightclient import Receipt
from ledger.chain.merkle import MerkleTree, proof_to_hex
from ledger.chain.tx import Transaction
from ledger.execution import node_state
from ledger.models import Block, CommittedTx, PeerDrop, Submission
from ledger.runtime import node, peers, stall


def node_status() -> dict:
    state = node_state()
    tip = Block.objects.order_by("-height").first()
    return {
        "node": settings.NODE_CODE,
        "configured": node.configured(),
        "applied_height": state.applied_height,
        "stored_height": tip.height if tip else 0,
        "state_root": state.state_root,
        "diverged": state.diverged,
        "diverged_reason": state.diverged_reason,
        "last_audit_at": state.last_audit_at,
        "last_audit_ok": state.last_audit_ok,
        "replica": state.replica_status,
        "replica_status_at": state.replica_status_at,
        "apply": apply_status(),
        "peers": peers.snapshot(),
        "dropped": [
            {"sender": d.sender, "reason": d.reason, "count": d.count} for d in PeerDrop.objects.order_by("sender", "reason")
        ],
        "dropped_total": PeerDrop.objects.aggregate(n=Sum("count"))["n"] or 0,
        "pending_submissions": Submission.objects.filter(status="pending").count(),
        "committed_transactions": CommittedTx.objects.count(),
    }


def apply_status(client=None) -> dict:
    """Whether this node is failing to apply a block and retrying (ledger.runtime.stall), or "ok";
    {"state": "unknown"} when Redis, where the drain loop keeps it, does not answer."""
    try:
        return stall.read(client)
    except Exception as exc:
        return {"state": "unknown", "error": exc.__class__.__name__}


def block_header_pair(block: Block) -> tuple[BlockHeader, CommitCertificate]:
    return BlockHeader.from_dict(block.header), CommitCertificate.from_dict(block.certificate)


def tx_receipt(tx_id: str) -> dict | None:
    """Status of a transaction this node knows, with its receipt once committed."""
    committed = CommittedTx.objects.select_related("block").filter(tx_id=tx_id).first()
    if committed is None:
        submission = Submission.objects.filter(tx_id=tx_id).first()
        if submission is None:
            return None
        return {"tx_id": tx_id, "status": submission.status, "reason": submission.reason, "receipt": None}
    block = committed.block
    tx_ids = [Transaction.from_dict(t).id for t in block.txs]
    tree = MerkleTree.from_leaves([bytes.fromhex(t) for t in tx_ids])
    receipt = Receipt(
        tx_id=tx_id, height=block.height, index=committed.index, tx_count=block.tx_count,
        proof=tuple(proof_to_hex(tree.inclusion_proof(committed.index))),
    )
    return {
        "tx_id": tx_id,
        "status": committed.status,
        "reason": committed.reason,
        "type": committed.type,
        "signer": committed.signer,
        "block_height": block.height,
        "block_hash": block.hash,
        "index": committed.index,
        "receipt": receipt.to_dict(),
        "header": block.header,
        "certificate": block.certificate,
    }


def tx_status_for(*, user, tx_id: str) -> dict | None:
    """Where a transaction stands, for a person who may know: whoever sent it, the staff of the
    institution that signed it, the regulator and platform administrators."""
    committed = CommittedTx.objects.select_related("block").filter(tx_id=tx_id).first()
    submission = Submission.objects.filter(tx_id=tx_id).first()
    if committed is None and submission is None:
        return None
    signer = committed.signer if committed else Transaction.from_dict(submission.body).signer
    institution = getattr(user, "institution", None)
    allowed = (
        user.is_superuser
        or (submission is not None and submission.submitted_by_id == user.pk)
        or (institution is not None and (signer == f"node:{institution.code}" or institution.role == "regulator"))
    )
    if not allowed:
        return None
    if committed is not None:
        return {"tx_id": tx_id, "status": committed.status, "reason": committed.reason,
                "height": committed.block.height, "type": committed.type}
    return {"tx_id": tx_id, "status": submission.status, "reason": submission.reason,
            "height": submission.height, "type": submission.type}


def pending_submissions(*, user, type_prefix: str = "", limit: int = 20):
    """What this person sent that the consortium has not committed yet (newest first)."""
    if not getattr(user, "is_authenticated", False):
        return Submission.objects.none()
    rows = Submission.objects.filter(submitted_by=user, status="pending")
    if type_prefix:
        rows = rows.filter(type__startswith=type_prefix)
    return rows.order_by("-submitted_at")[:limit]
