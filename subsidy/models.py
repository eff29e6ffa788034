"""Subsidy policies, claims, their lines, exclusions and the trail of decisions. Ledger-owned: only
subsidy's contracts write them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.access import MembersSee, Parties, RestrictedQuerySet
from registry.models import Institution, Pile
from settlement import checks

# Why energy is held out of a claim line: a session's own reason (settlement.checks) or the pile's.
NOT_PUBLIC = "not_public"
BELOW_AVAILABILITY = "availability_below_minimum"

REASON_LABELS = {
    checks.SIGNATURE_FAILED: _("meter signature does not verify"),
    checks.DISPUTED: _("readings contradict each other"),
    checks.NEVER_ONLINE: _("pile never online in the period"),
    checks.NON_COMPLIANT: _("pile failed its verification"),
    checks.OVERDUE: _("pile overdue for verification"),
    checks.UNVERIFIED: _("pile never verified"),
    checks.OVERLAPPING: _("overlaps another session on the connector"),
    checks.POWER_ABOVE_RATED: _("power above the rated power"),
    checks.ENERGY_ABOVE_METER: _("energy above what the meter signed"),
    NOT_PUBLIC: _("not a public pile"),
    BELOW_AVAILABILITY: _("availability below the policy's minimum"),
}


class AvailabilityFormula(models.TextChoices):
    """Which availability a policy's minimum applies to. A version keeps the formula it was published
    with: the old formula keeps its meaning for old versions."""

    DAILY_REPORTS = "daily_reports", _("daily availability reports (up time over the period)")
    INTERVALS = "intervals", _("agreed intervals (uptime, docs/intervals.md)")


@ledger.state.rows.register
class Policy(models.Model):
    """One version of the regulator's subsidy rules; a claim uses the latest version in force for its period."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    valid_from = models.CharField(_("valid from period"), max_length=7)
    per_kwh_cny = models.DecimalField(_("operating subsidy (CNY/kWh)"), max_digits=10, decimal_places=4)
    construction_per_kw_cny = models.DecimalField(_("construction subsidy (CNY/kW)"), max_digits=12, decimal_places=2)
    min_availability = models.DecimalField(_("minimum availability"), max_digits=7, decimal_places=6)
    cap_per_pile_year_cny = models.DecimalField(_("cap per pile and year (CNY)"), max_digits=14, decimal_places=2)
    cap_per_operator_year_cny = models.DecimalField(_("cap per operator and year (CNY)"), max_digits=16, decimal_places=2)
    availability_formula = models.CharField(_("availability formula"), max_length=16,
                                            choices=AvailabilityFormula.choices, default=AvailabilityFormula.DAILY_REPORTS)
    note = models.CharField(_("note"), max_length=200, blank=True)
    published_by = models.CharField(_("published by"), max_length=32)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(_("transaction"), max_length=64)

    LEDGER_FIELDS = ("version", "valid_from", "per_kwh_cny", "construction_per_kw_cny", "min_availability",
                     "availability_formula", "cap_per_pile_year_cny", "cap_per_operator_year_cny", "note",
                     "published_by", "height", "tx_id")

    objects = RestrictedQuerySet.as_manager()
    restriction = MembersSee()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("subsidy policy")
        verbose_name_plural = _("subsidy policies")

    def __str__(self) -> str:
        return f"v{self.version}"

    @property
    def public_id(self) -> str:
        return f"policy-v{self.version}"


class ClaimStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    PARTLY_APPROVED = "partly_approved", _("Partly approved")
    REJECTED = "rejected", _("Rejected")


@ledger.state.rows.register
class Claim(models.Model):
    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    operator = models.ForeignKey(Institution, verbose_name=_("operator"), on_delete=models.PROTECT,
                                 related_name="subsidy_claims")
    period = models.CharField(_("period"), max_length=7)
    policy = models.ForeignKey(Policy, verbose_name=_("policy"), on_delete=models.PROTECT, related_name="claims")
    status = models.CharField(_("status"), max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.SUBMITTED)
    eligible_cny = models.DecimalField(_("eligible (CNY)"), max_digits=16, decimal_places=2)
    approved_cny = models.DecimalField(_("approved (CNY)"), max_digits=16, decimal_places=2, default=0)
    payment_due_on = models.DateField(_("payment due on"), null=True, blank=True)
    submitted_height = models.BigIntegerField(_("submitted at height"))
    height = models.BigIntegerField(_("last change at height"))

    LEDGER_FIELDS = ("uid", "operator", "period", "policy", "status", "eligible_cny", "approved_cny", "payment_due_on",
                     "submitted_height", "height")

    objects = RestrictedQuerySet.as_manager()
    restriction = Parties("operator")

    class Meta:
        ordering = ["-submitted_height", "uid"]
        verbose_name = _("subsidy claim")
        verbose_name_plural = _("subsidy claims")

    def __str__(self) -> str:
        return f"{self.operator_id and self.operator.code} {self.period}"

    @property
    def public_id(self) -> str:
        return str(self.uid)


class LineStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


@ledger.state.rows.register
class ClaimLine(models.Model):
    """One pile of a claim: energy counted and held, the amounts, and the regulator's decision."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    claim = models.ForeignKey(Claim, verbose_name=_("claim"), on_delete=models.CASCADE, related_name="lines")
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="subsidy_lines")
    period = models.CharField(_("period"), max_length=7)
    sessions = models.PositiveIntegerField(_("sessions counted"))
    energy_wh = models.BigIntegerField(_("energy counted (Wh)"))
    excluded_wh = models.BigIntegerField(_("energy held (Wh)"))
    availability = models.DecimalField(_("availability"), max_digits=7, decimal_places=6, null=True, blank=True)
    operating_cny = models.DecimalField(_("operating subsidy (CNY)"), max_digits=14, decimal_places=2)
    construction_cny = models.DecimalField(_("construction subsidy (CNY)"), max_digits=14, decimal_places=2)
    amount_cny = models.DecimalField(_("eligible (CNY)"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING)
    reason = models.CharField(_("decision reason"), max_length=300, blank=True)

    LEDGER_FIELDS = ("uid", "claim", "pile", "period", "sessions", "energy_wh", "excluded_wh", "availability",
                     "operating_cny", "construction_cny", "amount_cny", "note", "status", "reason")

    class Meta:
        ordering = ["pile__code"]
        indexes = [models.Index(fields=["pile", "period"])]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class ClaimExclusion(models.Model):
    """Energy held out of a claim line, with its reason (a session, or the whole pile)."""

    uid = models.UUIDField(unique=True, editable=False)
    line = models.ForeignKey(ClaimLine, on_delete=models.CASCADE, related_name="exclusions")
    session = models.CharField(_("session"), max_length=36, blank=True)
    reason = models.CharField(_("reason"), max_length=32)
    energy_wh = models.BigIntegerField(_("energy (Wh)"))

    LEDGER_FIELDS = ("uid", "line", "session", "reason", "energy_wh")

    class Meta:
        ordering = ["line", "reason", "session"]

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason, self.reason)

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class ClaimStep(models.Model):
    """The trail: submission and each decision, with its block height."""

    uid = models.UUIDField(unique=True, editable=False)
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("action"), max_length=20)
    institution = models.CharField(_("institution"), max_length=32)
    piles = models.JSONField(_("piles"), default=list, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    amount_cny = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2, default=0)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(_("transaction"), max_length=64)

    LEDGER_FIELDS = ("uid", "claim", "action", "institution", "piles", "reason", "amount_cny", "height", "tx_id")

    class Meta:
        ordering = ["height", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)
