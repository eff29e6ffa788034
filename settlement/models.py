"""Charging sessions: one OCPP transaction of a pile, as the consortium recorded it.

Ledger-owned: only settlement's contracts write them. Tariffs, totals and statements (below) attach
to a session without changing these fields; JobProgress is node-local (progress of long tasks).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.access import MembersSee, Parties, PileData, RestrictedQuerySet, StartedBy
from registry.models import GridArea, Institution, Pile


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
    # How the closed session entered the totals (settlement.contracts.totals): counted (no reason) or held with
    # the first reason that applies, and its whole Wh per "period/band" (the split rule).
    held_reason = models.CharField(_("reason held"), max_length=32, blank=True)
    parts = models.JSONField(_("Wh per period and band"), default=dict, blank=True)

    LEDGER_FIELDS = (
        "uid", "pile", "connector_id", "transaction_id", "id_tag", "protocol", "started_at", "stopped_at",
        "meter_start_wh", "meter_stop_wh", "energy_wh", "stop_reason", "signed_data", "signature_ok",
        "signature_detail", "signed_energy_wh", "status", "status_detail", "opened_tx", "opened_height",
        "closed_tx", "closed_height", "held_reason", "parts",
    )

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData(area_owner=False)

    class Meta:
        ordering = ["-started_at", "uid"]
        verbose_name = _("charging session")
        verbose_name_plural = _("charging sessions")
        indexes = [
            # The newest first, on the session pages.
            models.Index(fields=["started_at"], name="settlement_session_started"),
            # A pile's sessions that ended after a moment: the overlaps a run of closings checks, a
            # pile's sessions in a period. By the stop, not the start: "started before the end of
            # the window" would reach back over the pile's whole history.
            models.Index(fields=["pile", "stopped_at"], name="settlement_session_stop"),
            # Held sessions are few: the claim lists them per pile.
            models.Index(fields=["pile", "held_reason"], name="settlement_session_held",
                         condition=~models.Q(held_reason="")),
        ]

    def __str__(self) -> str:
        return f"{self.pile_id and self.pile.code} #{self.transaction_id}"

    @property
    def public_id(self) -> str:
        return str(self.uid)

    @property
    def settleable(self) -> bool:
        """Only a closed session whose signed data (if any) verified may be settled."""
        return self.status == SessionStatus.CLOSED and self.signature_ok is not False


# --- Tariffs, totals and statements (issue 7) --------------------------------------------------------


@ledger.state.rows.register
class Tariff(models.Model):
    """Time-of-use prices of a grid area, published by the grid institution that owns it."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    area = models.ForeignKey(GridArea, verbose_name=_("grid area"), on_delete=models.PROTECT, related_name="tariffs")
    valid_from = models.DateField(_("valid from"))
    windows = models.JSONField(_("windows"))
    prices = models.JSONField(_("prices (CNY/kWh)"))
    published_by = models.CharField(_("published by"), max_length=32)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(_("transaction"), max_length=64)

    LEDGER_FIELDS = ("uid", "area", "valid_from", "windows", "prices", "published_by", "height", "tx_id")

    objects = RestrictedQuerySet.as_manager()
    restriction = MembersSee()

    class Meta:
        ordering = ["area__code", "-valid_from"]
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class ServiceFee(models.Model):
    """The operator's service fee to drivers, per kWh, from a date."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    operator = models.ForeignKey(Institution, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("valid from"))
    per_kwh = models.DecimalField(_("service fee (CNY/kWh)"), max_digits=10, decimal_places=5)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(_("transaction"), max_length=64)

    LEDGER_FIELDS = ("uid", "operator", "valid_from", "per_kwh", "height", "tx_id")

    class Meta:
        ordering = ["operator__code", "-valid_from"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class EnergyTotal(models.Model):
    """Energy per (pile, period, band), counted (reason "") or held (reason): what closing reads.

    `sessions` counts each session once per period: in the band where its share of the period begins
    (so the rows of a pile and period add up to its number of sessions there)."""

    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="energy_totals")
    period = models.CharField(_("period"), max_length=7)
    band = models.CharField(_("band"), max_length=16)
    reason = models.CharField(_("reason held"), max_length=32, blank=True)
    energy_wh = models.BigIntegerField(_("energy (Wh)"), default=0)
    sessions = models.PositiveIntegerField(_("sessions"), default=0)

    LEDGER_FIELDS = ("pile", "period", "band", "reason", "energy_wh", "sessions")

    class Meta:
        ordering = ["pile__code", "period", "band", "reason"]
        constraints = [models.UniqueConstraint(fields=["pile", "period", "band", "reason"], name="settlement_total_key")]
        indexes = [models.Index(fields=["period", "pile"])]

    @property
    def public_id(self) -> str:
        return f"total/{self.pile.code}/{self.period}/{self.band}/{self.reason or 'counted'}"


@ledger.state.rows.register
class SealedTerms(models.Model):
    """Confidential terms between an operator and a grid institution for an area, sealed for them and
    the regulator; the ledger keeps the sealed section and its commitment, never the plaintext."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    area = models.ForeignKey(GridArea, verbose_name=_("grid area"), on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey(Institution, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("valid from"))
    sealed = models.JSONField(_("sealed terms"))
    commitment = models.CharField(_("commitment"), max_length=64)
    published_by = models.CharField(_("published by"), max_length=32)
    height = models.BigIntegerField(_("block height"))
    tx_index = models.PositiveIntegerField(_("place in the block"), default=0)

    LEDGER_FIELDS = ("uid", "area", "operator", "valid_from", "sealed", "commitment", "published_by", "height",
                     "tx_index")
    # Terms in force: the latest valid_from, then the latest published (two may share a block).
    LATEST_FIRST = ("-valid_from", "-height", "-tx_index")

    class Meta:
        ordering = ["-valid_from", "-height", "-tx_index"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class AreaMeterReading(models.Model):
    """The grid's own meter for an area and period, compared with the sum of the piles."""

    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=7)
    energy_wh = models.BigIntegerField(_("area meter (Wh)"))
    reported_by = models.CharField(max_length=32)
    height = models.BigIntegerField()

    LEDGER_FIELDS = ("area", "period", "energy_wh", "reported_by", "height")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "period"], name="settlement_area_meter_key")]

    @property
    def public_id(self) -> str:
        return f"area-meter/{self.area.code}/{self.period}"


class StatementStatus(models.TextChoices):
    OPEN = "open", _("Awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    DISPUTED = "disputed", _("Disputed")
    CORRECTED = "corrected", _("Corrected")


@ledger.state.rows.register
class Statement(models.Model):
    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    area = models.ForeignKey(GridArea, verbose_name=_("grid area"), on_delete=models.PROTECT, related_name="+")
    operator = models.ForeignKey(Institution, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="+")
    grid = models.ForeignKey(Institution, verbose_name=_("grid company"), on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=7)
    status = models.CharField(_("status"), max_length=12, choices=StatementStatus.choices, default=StatementStatus.OPEN)
    terms = models.ForeignKey(SealedTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    terms_commitment = models.CharField(_("terms commitment"), max_length=64, blank=True)
    energy_wh = models.BigIntegerField(_("energy counted (Wh)"))
    excluded_wh = models.BigIntegerField(_("energy held (Wh)"))
    tariff_amount_cny = models.DecimalField(_("at the published tariff (CNY)"), max_digits=16, decimal_places=2)
    area_meter_wh = models.BigIntegerField(_("area meter (Wh)"), null=True, blank=True)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    correction_reason = models.CharField(_("correction reason"), max_length=300, blank=True)
    operator_hash = models.CharField(_("operator's hash"), max_length=64, blank=True)
    grid_hash = models.CharField(_("grid company's hash"), max_length=64, blank=True)
    height = models.BigIntegerField(_("closed at height"))
    changed_height = models.BigIntegerField(_("last change at height"))

    LEDGER_FIELDS = ("uid", "area", "operator", "grid", "period", "status", "terms", "terms_commitment", "energy_wh",
                     "excluded_wh", "tariff_amount_cny", "area_meter_wh", "corrects", "correction_reason",
                     "operator_hash", "grid_hash", "height", "changed_height")

    objects = RestrictedQuerySet.as_manager()
    restriction = Parties("operator", "grid")

    class Meta:
        ordering = ["-period", "area__code", "operator__code", "-height"]
        verbose_name = _("statement")
        verbose_name_plural = _("statements")

    def __str__(self) -> str:
        return f"{self.period} {self.area_id and self.area.code} {self.operator_id and self.operator.code}"

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class StatementItem(models.Model):
    uid = models.UUIDField(unique=True, editable=False)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="items")
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    band = models.CharField(_("band"), max_length=16)
    energy_wh = models.BigIntegerField(_("energy (Wh)"))
    excluded = models.JSONField(_("held (Wh by reason)"), default=dict, blank=True)
    tariff_price = models.DecimalField(_("tariff price (CNY/kWh)"), max_digits=10, decimal_places=5)
    tariff_amount_cny = models.DecimalField(_("at the tariff (CNY)"), max_digits=14, decimal_places=2)
    disputed = models.CharField(_("dispute"), max_length=300, blank=True)

    LEDGER_FIELDS = ("uid", "statement", "pile", "band", "energy_wh", "excluded", "tariff_price", "tariff_amount_cny",
                     "disputed")

    class Meta:
        ordering = ["pile__code", "band"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class StatementStep(models.Model):
    """The trail of a statement: closing, each confirmation, dispute and correction, with heights."""

    uid = models.UUIDField(unique=True, editable=False)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(max_length=16)
    institution = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    height = models.BigIntegerField()
    tx_id = models.CharField(max_length=64)

    LEDGER_FIELDS = ("uid", "statement", "action", "institution", "detail", "height", "tx_id")

    class Meta:
        ordering = ["height", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


class JobProgress(models.Model):
    """Node-local progress of a long task (closing many areas, exports), polled by the page."""

    uid = models.UUIDField(unique=True)
    kind = models.CharField(max_length=32)
    user = models.ForeignKey("registry.User", null=True, on_delete=models.SET_NULL, related_name="+")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=12, default="queued")  # queued, running, done, failed
    detail = models.CharField(max_length=500, blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    result = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by every progress step (jobs._update): a job that stops moving is marked failed (expire_jobs).
    updated_at = models.DateTimeField(default=timezone.now)

    @property
    def percent(self) -> int:
        return 100 if self.state == "done" else (0 if not self.total else min(99, self.done * 100 // self.total))

    objects = RestrictedQuerySet.as_manager()
    restriction = StartedBy("user")
