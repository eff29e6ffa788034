"""Batches of readings anchored on the ledger by Merkle root (through the ledger.anchor contract)."""

from django.db import models


class AnchorBatch(models.Model):
    """Readings first_id..last_id of one pile operator, leaf i = canonical encoding of reading i."""

    uid = models.UUIDField(unique=True)
    institution = models.CharField(max_length=32)  # whose node signed the anchor
    root = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    tx_id = models.CharField(max_length=64, unique=True)
    # The leaf hashes in leaf order (32 bytes each): a proof is rebuilt without re-encoding every
    # reading, and a reading changed in the table after anchoring no longer matches its leaf.
    leaf_hashes = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
