"""Webhooks registered by an institution for third parties (node-local: each node pushes its own)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import Parties, RestrictedQuerySet
from registry.models import Institution


class Webhook(models.Model):
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=128)
    # Filters, as for websocket subscribers; empty means all that the institution may see.
    piles = models.JSONField(default=list, blank=True)
    areas = models.JSONField(default=list, blank=True)
    severities = models.JSONField(default=list, blank=True)
    phases = models.JSONField(default=list, blank=True)  # "reported", "confirmed"
    active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = Parties("institution", overseers=())

    class Meta:
        ordering = ["id"]


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=100)
    body = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["webhook", "event_id"], name="mon_delivery_once")]


class AlertRecord(models.Model):
    """This node's alert history: one row per alert as it left the node. The row's id is the alert's
    sequence number (`seq`): per node, increasing, the same for every process of the node and across
    restarts. Node-local, like the webhooks: the ledger's state never holds it. Bounded: only the
    newest MONITORING_ALERT_HISTORY rows are kept (monitoring.alert_history)."""

    id = models.BigAutoField(primary_key=True)
    alert = models.JSONField()  # the alert as built by monitoring.alerts, without its seq (the id)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
