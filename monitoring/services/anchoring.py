"""Anchoring telemetry: batches of un-anchored readings go on the ledger by Merkle root.

Each operator's node anchors its own piles' readings through the ledger.anchor contract (kind
"monitoring.readings"); the batch records which readings it holds, so a proof for any one reading
can be rebuilt from the node's tables.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from core.submit import submit
from ledger.chain.merkle import MerkleTree
from ledger.models import CommittedTx
from ledger.runtime import node
from monitoring import conf
from monitoring.leaves import reading_leaf
from monitoring.models import AnchorBatch, Reading

logger = logging.getLogger("pilechain.monitoring")

KIND = "monitoring.readings"
UPDATE_CHUNK = 5000


def signing_operators() -> list[str]:
    """Operators whose transactions this node signs (itself and the members it hosts)."""
    definition = node.consortium()
    codes = []
    for member in definition.members:
        if member.role != "operator":
            continue
        try:
            node.signing_key_for(member.code)
        except node.NotHosted:
            continue
        codes.append(member.code)
    return sorted(codes)


def batch_leaves(readings) -> list[bytes]:
    return [reading_leaf(r, r.pile.code) for r in readings]


def anchor_readings(*, operator: str, limit: int | None = None) -> AnchorBatch | None:
    """Anchor the oldest un-anchored readings of one operator's piles (at most `limit`)."""
    limit = limit or conf.anchor_batch_max()
    with transaction.atomic():
        readings = list(
            Reading.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("pile")
            .filter(batch__isnull=True, pile__station__operator__code=operator)
            .order_by("id")[:limit]
        )
        if not readings:
            return None
        tree = MerkleTree.from_leaves(batch_leaves(readings))
        root = tree.root.hex()
        batch_uid = uuid.uuid4()
        submission = submit(
            type="ledger.anchor",
            payload={"kind": KIND, "root": root, "count": len(readings), "reference": str(batch_uid)},
            institution=operator,
        )
        batch = AnchorBatch.objects.create(
            uid=batch_uid, institution=operator, root=root, count=len(readings), tx_id=submission.tx_id,
            leaf_hashes=b"".join(tree.levels[0]),
        )
        ids = [r.id for r in readings]
        for start in range(0, len(ids), UPDATE_CHUNK):
            Reading.objects.filter(id__in=ids[start:start + UPDATE_CHUNK]).update(batch=batch)
    logger.info("anchoring %s readings of %s in %s", len(readings), operator, submission.tx_id[:12])
    return batch


def release_rejected() -> int:
    """Readings of a batch whose anchor the ledger rejected go back to the queue (the batch row stays,
    marked by its rejected transaction)."""
    rejected = CommittedTx.objects.filter(status="rejected", type="ledger.anchor").values("tx_id")
    return Reading.objects.filter(batch__tx_id__in=rejected).update(batch=None)


def anchor_all(*, limit: int | None = None) -> list[AnchorBatch]:
    """One pass over every operator this node signs for; repeated until nothing is left unanchored."""
    release_rejected()
    done = []
    for operator in signing_operators():
        while (batch := anchor_readings(operator=operator, limit=limit)) is not None:
            done.append(batch)
            if batch.count < (limit or conf.anchor_batch_max()):
                break
    return done
