"""The live path's bookkeeping (monitoring.live): what an operator's node puts on it, how far each
member has taken it, and each node's stream history. Node-local, never ledger-owned: the live path
carries "reported" state, the agreed intervals come from the ledger."""

from django.db import models


class LiveEvent(models.Model):
    """The operator node's outbox: one row per status change, connection change or meter sample of
    its own piles, written in the same transaction as the state it reports. `seq` is given by the
    forwarder (one at a time per node), in the order rows became visible, with no gaps: it is the
    source's sequence number that receivers count on."""

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    event = models.JSONField()  # monitoring.live.events: {"k", "p", "c", "t", ...}
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["id"], name="mon_liveevent_unsequenced", condition=models.Q(seq__isnull=True))]


class LiveLink(models.Model):
    """One direction of the live path with one member. OUT (at the source): the peer has applied
    everything up to `seq`. IN (at a receiver): this node has applied the source's events up to
    `seq`, and the source had numbered up to `head` when it last sent."""

    class Direction(models.TextChoices):
        OUT = "out", "out"
        IN = "in", "in"

    peer = models.CharField(max_length=64)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    seq = models.BigIntegerField(default=0)
    head = models.BigIntegerField(default=0)
    # IN: the time of the newest event applied, as the source stamped it (the lag's measure).
    event_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    refused = models.BigIntegerField(default=0)  # IN: events refused (not the source's piles, unknown)

    class Meta:
        ordering = ["direction", "peer"]
        constraints = [models.UniqueConstraint(fields=["peer", "direction"], name="mon_livelink_unique")]


class LiveRecord(models.Model):
    """This node's live stream history: one row per group of events applied here (a sequenced slice
    of its own outbox, or a batch received from a member). The id is the stream's `seq` a websocket
    subscriber resumes after. Bounded like the alert history (MONITORING_LIVE_HISTORY rows)."""

    id = models.BigAutoField(primary_key=True)
    events = models.JSONField()  # each as monitoring.live.events.describe() gives it
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
