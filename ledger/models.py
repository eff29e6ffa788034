"""The node's copy of the chain and what its replica must remember.

Blocks and their transactions are stored as committed (header, certificate, the signed transaction
bodies), with the outcome of each transaction's contract. `NodeState` holds what applying them
produced: the height applied, the state root and the MuHash of the ledger-owned rows.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.state import rows


class Block(models.Model):
    """A committed block, stored when the replica hands it out and applied right after."""

    height = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64, unique=True)
    prev_hash = models.CharField(max_length=64)
    header = models.JSONField()
    certificate = models.JSONField()
    txs = models.JSONField()  # the signed transaction bodies, in block order
    tx_count = models.IntegerField()
    proposer = models.CharField(max_length=32)
    view = models.BigIntegerField()
    timestamp_ms = models.BigIntegerField()
    # The state root after applying this block: the next header carries it, a quorum signs that.
    state_root_after = models.CharField(max_length=64, blank=True)
    applied = models.BooleanField(default=False, db_index=True)
    stored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-height"]

    def __str__(self) -> str:
        return f"#{self.height} {self.hash[:12]}"


class TxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")


class CommittedTx(models.Model):
    """A committed transaction and what its contract did with it."""

    tx_id = models.CharField(max_length=64, unique=True)
    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="transactions")
    index = models.IntegerField()
    type = models.CharField(max_length=100, db_index=True)
    signer = models.CharField(max_length=140, db_index=True)
    body = models.JSONField()
    status = models.CharField(max_length=16, choices=TxStatus.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["block__height", "index"]
        constraints = [models.UniqueConstraint(fields=["block", "index"], name="ledger_tx_block_index")]


class Submission(models.Model):
    """A transaction this node accepted for consensus, and where it stands."""

    tx_id = models.CharField(max_length=64, unique=True)
    body = models.JSONField()
    type = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=TxStatus.choices, default=TxStatus.PENDING, db_index=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    # False: the drain loop offers it to its replica at the next turn. Set once offered; cleared for
    # every pending submission when the driver (re)builds its replica (whose pending requests live in
    # memory only) and when the transaction is submitted again (ledger.runtime.driver).
    proposed = models.BooleanField(default=False, db_index=True)
    height = models.BigIntegerField(null=True, blank=True)
    index = models.IntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-submitted_at"]


class NodeState(models.Model):
    """One row: how far this node has applied the chain, and whether it still trusts its tables."""

    applied_height = models.BigIntegerField(default=0)
    state_root = models.CharField(max_length=64)
    rows_muhash = models.TextField()  # MuHash value (hex) of the ledger-owned rows
    # The consortium definition the genesis committed to, stored with the state: the contracts' rules
    # read it (ledger.definition), never the file the process loaded.
    definition = models.JSONField(default=dict)
    diverged = models.BooleanField(default=False)
    diverged_reason = models.TextField(blank=True)
    last_audit_at = models.DateTimeField(null=True, blank=True)
    last_audit_ok = models.BooleanField(null=True)
    # The driver's latest snapshot of its replica: view, committed height, stable checkpoint, drops.
    replica_status = models.JSONField(default=dict)
    replica_status_at = models.DateTimeField(null=True, blank=True)


class ReplicaRecord(models.Model):
    """The PBFT replica's persisted key-value state (its ready().persist write sets)."""

    key = models.CharField(max_length=200, primary_key=True)
    value = models.BinaryField()


class InboxMessage(models.Model):
    """A peer's message, signature already checked at the peer endpoint, waiting to be stepped."""

    sender = models.CharField(max_length=32)
    data = models.BinaryField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class DriverLease(models.Model):
    """Who drives this node's replica. Every persist checks the epoch under a row lock, so a driver
    that lost its lease (paused, partitioned from the database) can never write or send again."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    epoch = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True)


class PeerDrop(models.Model):
    """Counters of peer messages refused at the endpoint or by the replica, per sender and reason."""

    sender = models.CharField(max_length=64)
    reason = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sender", "reason"], name="ledger_peerdrop_sender_reason")]


@rows.register
class Anchor(models.Model):
    """A commitment recorded on the chain: the Merkle root of a batch of off-chain records (telemetry
    readings, documents), so that any one of them can later be proven against a committed block."""

    LEDGER_FIELDS = ("kind", "root", "count", "reference", "institution", "height")

    uid = models.UUIDField(unique=True)  # derived from the transaction's hash: the same on every node
    kind = models.CharField(max_length=64)
    root = models.CharField(max_length=64)
    count = models.BigIntegerField()
    reference = models.CharField(max_length=200, blank=True)
    institution = models.CharField(max_length=32)  # the member whose node signed it
    height = models.BigIntegerField()
    tx_id = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-height", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)
