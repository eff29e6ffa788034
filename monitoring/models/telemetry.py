"""Telemetry kept by each node for its own piles: readings, status history, latest state.

Node-local and high-volume: never one ledger transaction per row. Readings are anchored in batches
by Merkle root (monitoring.anchoring). On PostgreSQL the time column carries a BRIN index (added by
a migration that runs only there): rows arrive in time order, so a BRIN index stays tiny and makes
time-range scans over a very large table cheap.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import PileData, RestrictedQuerySet
from registry.models import Pile


class Reading(models.Model):
    """One sampled value, its unit normalised (Wh, W, V, A, ...)."""

    id = models.BigAutoField(primary_key=True)
    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+", db_index=False)
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    measurand = models.CharField(_("measurand"), max_length=64)
    phase = models.CharField(_("phase"), max_length=8, blank=True)
    context = models.CharField(_("context"), max_length=32, blank=True)
    value = models.DecimalField(_("value"), max_digits=24, decimal_places=6)
    unit = models.CharField(_("unit"), max_length=16)
    ts = models.DateTimeField(_("time"))
    source = models.CharField(_("source"), max_length=16, default="ocpp")
    received_at = models.DateTimeField(auto_now_add=True)
    batch = models.ForeignKey("monitoring.AnchorBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="readings")

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["ts", "id"]
        indexes = [
            # Keyset pagination and per-pile series: (pile, measurand, ts, id).
            models.Index(fields=["pile", "measurand", "ts", "id"], name="mon_reading_series"),
            # The anchoring task scans the un-anchored tail.
            models.Index(fields=["id"], name="mon_reading_unanchored", condition=models.Q(batch__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.pile_id}#{self.connector_id} {self.measurand}={self.value}{self.unit}@{self.ts.isoformat()}"


class StatusEvent(models.Model):
    """A status change as the pile reported it (OCPP StatusNotification and its kin)."""

    id = models.BigAutoField(primary_key=True)
    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    status = models.CharField(_("status"), max_length=32)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    info = models.CharField(_("info"), max_length=500, blank=True)
    ts = models.DateTimeField(_("time"))
    source = models.CharField(_("source"), max_length=16)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["ts", "id"]
        indexes = [models.Index(fields=["pile", "connector_id", "ts"], name="mon_status_series")]


class ConnectionEvent(models.Model):
    """The pile's connection to this central system opened (up) or closed: the offline seconds of
    the interval reports (monitoring.services.intervals)."""

    id = models.BigAutoField(primary_key=True)
    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+", db_index=False)
    up = models.BooleanField(_("connected"))
    ts = models.DateTimeField(_("time"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["ts", "id"]
        indexes = [models.Index(fields=["pile", "ts"], name="mon_connection_series")]


class SignedReading(models.Model):
    """An energy register reading a pile's meter signed outside any transaction (clock-aligned), as
    the pile sent it: the interval reports carry the one at each interval's end."""

    id = models.BigAutoField(primary_key=True)
    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+", db_index=False)
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    ts = models.DateTimeField(_("time"))
    wh = models.BigIntegerField(_("register (Wh)"))
    record = models.TextField(_("OCMF record"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["ts", "id"]
        indexes = [models.Index(fields=["pile", "connector_id", "ts"], name="mon_signedreading_series")]


class AuthorizationAttempt(models.Model):
    """A pile asked this central system to authorize a driver's token (OCPP Authorize); the token
    itself is not kept."""

    id = models.BigAutoField(primary_key=True)
    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+", db_index=False)
    accepted = models.BooleanField(_("accepted"))
    ts = models.DateTimeField(_("time"))

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["ts", "id"]
        indexes = [models.Index(fields=["pile", "ts"], name="mon_authorization_series")]


class PileState(models.Model):
    """The latest we heard from a pile: any message counts as a sign of life. At the operator's node
    its own gateway writes it (`source` blank); at every other member's node the live path does
    (monitoring.live), `source` naming the operator's node it came from: "reported" state."""

    pile = models.OneToOneField(Pile, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_seen_at = models.DateTimeField(_("last seen"))
    silent_reported = models.BooleanField(default=False)
    # Connected to its central system (OCPP websocket up), and since when; None: never heard of.
    online = models.BooleanField(_("online"), null=True, blank=True)
    online_at = models.DateTimeField(_("online since / offline since"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()


class ConnectorState(models.Model):
    """Latest status and meter figures of a connector (connector 0 is the pile as a whole)."""

    pile = models.ForeignKey(Pile, on_delete=models.CASCADE, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    status = models.CharField(_("status"), max_length=32, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    energy_wh = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    energy_at = models.DateTimeField(null=True, blank=True)
    power_w = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    power_at = models.DateTimeField(null=True, blank=True)
    voltage_v = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    current_a = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Blank: this node's own gateway; else the member node whose live path reported it.
    source = models.CharField(_("source"), max_length=64, blank=True)
    # When the meter figures were last put on the live path (the operator's node samples them).
    live_sent_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["pile_id", "connector_id"]
        constraints = [models.UniqueConstraint(fields=["pile", "connector_id"], name="mon_connectorstate_unique")]


class IngestBatch(models.Model):
    """A device-signed batch accepted by the REST ingestion endpoint: batch ids and sequence numbers
    may be used once per pile, so a replayed batch is refused."""

    pile = models.ForeignKey(Pile, on_delete=models.PROTECT, related_name="+")
    batch_id = models.CharField(max_length=64)
    sequence = models.BigIntegerField()
    key_fingerprint = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pile_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["pile", "batch_id"], name="mon_ingestbatch_id_unique"),
            models.UniqueConstraint(fields=["pile", "sequence"], name="mon_ingestbatch_seq_unique"),
        ]
