"""Charging sessions: one OCPP transaction of a pile, as the consortium recorded it.

Ledger-owned: only settlement's contracts write them. Tariffs, prices and totals (a later issue)
attach to a session by its public id without changing these fields.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.models import Pile


class SessionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    SIGNATURE_FAILED = "signature_failed", _("Signature failed")
    DISPUTED = "disputed", _("Disputed")


@ledger.state.rows.register
class ChargingSession(models.Model):
    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="charging_sessions")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    transaction_id = models.CharField(_("OCPP transaction id"), max_length=64)
    id_tag = models.CharField(_("id tag"), max_length=64, blank=True)
    protocol = models.CharField(_("protocol"), max_length=16)
    started_at = models.DateTimeField(_("started at"))
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    meter_start_wh = models.BigIntegerField(_("meter start (Wh)"))
    meter_stop_wh = models.BigIntegerField(_("meter stop (Wh)"), null=True, blank=True)
    energy_wh = models.BigIntegerField(_("energy (Wh)"), null=True, blank=True)
    stop_reason = models.CharField(_("stop reason"), max_length=64, blank=True)
    # OCMF records the pile's meter signed, as received; anyone can verify them again later.
    signed_data = models.JSONField(_("signed meter data"), default=list, blank=True)
    signature_ok = models.BooleanField(_("signature verified"), null=True, blank=True)
    signature_detail = models.CharField(_("verification detail"), max_length=500, blank=True)
    signed_energy_wh = models.BigIntegerField(_("signed energy (Wh)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=SessionStatus.choices, default=SessionStatus.OPEN)
    status_detail = models.CharField(_("status detail"), max_length=500, blank=True)
    opened_tx = models.CharField(_("opening transaction"), max_length=64)
    opened_height = models.PositiveBigIntegerField(_("opened at height"))
    closed_tx = models.CharField(_("closing transaction"), max_length=64, blank=True)
    closed_height = models.PositiveBigIntegerField(_("closed at height"), null=True, blank=True)

    LEDGER_FIELDS = (
        "uid", "pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "stopped_at",
        "meter_start_wh", "meter_stop_wh", "energy_wh", "stop_reason", "signed_data", "signature_ok",
        "signature_detail", "signed_energy_wh", "status", "status_detail", "opened_tx", "opened_height",
        "closed_tx", "closed_height",
    )

    class Meta:
        ordering = ["-started_at", "uid"]
        verbose_name = _("charging session")
        verbose_name_plural = _("charging sessions")
        indexes = [models.Index(fields=["pile", "transaction_id"])]

    def __str__(self) -> str:
        return f"{self.pile_id and self.pile.code} #{self.transaction_id}"

    @property
    def public_id(self) -> str:
        return str(self.uid)

    @property
    def settleable(self) -> bool:
        """Only a closed session whose signed data (if any) verified may be settled."""
        return self.status == SessionStatus.CLOSED and self.signature_ok is not False
