"""The gateway's node-local tables: what this node's central system knows of the piles it serves.
None of them is ledger state: credentials are secrets of this node, presence and command logs are
its own observations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gateway.access import OwnPiles
from registry.access import RestrictedQuerySet


class ChargePointCredential(models.Model):
    """The HTTP Basic password a pile presents (OCPP security profiles 1 and 2), stored hashed."""

    pile_code = models.CharField(_("pile"), max_length=48, unique=True)  # upper-cased
    password_hash = models.CharField(_("password hash"), max_length=200)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"))

    objects = RestrictedQuerySet.as_manager()
    restriction = OwnPiles()

    class Meta:
        verbose_name = _("charge point credential")
        verbose_name_plural = _("charge point credentials")


class Presence(models.Model):
    """A pile's connection to this node: protocol, boot data, last contact, last status per connector."""

    pile_code = models.CharField(_("pile"), max_length=48, unique=True)
    protocol = models.CharField(_("protocol"), max_length=16, blank=True)
    connected = models.BooleanField(_("connected"), default=False)
    connected_at = models.DateTimeField(_("connected at"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    boot_status = models.CharField(_("boot status"), max_length=16, blank=True)
    vendor = models.CharField(_("vendor"), max_length=50, blank=True)
    model = models.CharField(_("model"), max_length=50, blank=True)
    firmware = models.CharField(_("firmware"), max_length=50, blank=True)
    connectors = models.JSONField(_("connector statuses"), default=dict, blank=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = OwnPiles()

    class Meta:
        ordering = ["pile_code"]
        verbose_name = _("pile presence")
        verbose_name_plural = _("pile presences")


class OcppTransaction(models.Model):
    """An OCPP transaction in progress or done, tied to the charging session recorded for it.
    Its primary key is the transactionId this node hands out to 1.6 piles."""

    pile_code = models.CharField(max_length=48)
    transaction_id = models.CharField(max_length=64)
    connector_id = models.PositiveSmallIntegerField()
    id_tag = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    meter_start_wh = models.BigIntegerField(default=0)
    last_energy_wh = models.BigIntegerField(null=True, blank=True)
    signed_data = models.JSONField(default=list, blank=True)
    session_uid = models.UUIDField(null=True, blank=True)
    open_tx = models.CharField(max_length=64, blank=True)
    close_tx = models.CharField(max_length=64, blank=True)
    stopped = models.BooleanField(default=False)
    problem = models.CharField(max_length=300, blank=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = OwnPiles()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pile_code", "transaction_id"], name="gateway_ocpptx_unique"),
        ]


class CommandStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    REFUSED = "refused", _("Refused by the pile")
    TIMEOUT = "timeout", _("No answer")
    OFFLINE = "offline", _("Pile not connected")


class RemoteCommand(models.Model):
    """A command an operator's staff sent to a pile, and the pile's answer."""

    pile_code = models.CharField(_("pile"), max_length=48)
    action = models.CharField(_("command"), max_length=32)
    params = models.JSONField(_("parameters"), default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=16, choices=CommandStatus.choices, default=CommandStatus.SENT)
    response = models.JSONField(_("response"), default=dict, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = OwnPiles()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("remote command")
        verbose_name_plural = _("remote commands")
