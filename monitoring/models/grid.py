"""What grid companies declare on the ledger: load alert thresholds, outages and curtailments of
their areas."""

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.access import MembersSee, RestrictedQuerySet
from registry.models import GridArea


@ledger.state.rows.register
class AreaLoadThreshold(models.Model):
    LEDGER_FIELDS = ("area", "percent", "set_by", "height")

    area = models.OneToOneField(GridArea, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid area"))
    percent = models.DecimalField(_("alert threshold (% of capacity)"), max_digits=5, decimal_places=1)
    set_by = models.CharField(max_length=32)
    height = models.BigIntegerField()

    @property
    def public_id(self) -> str:
        return self.area.code


@ledger.state.rows.register
class GridOutage(models.Model):
    """A supply outage in a grid area: time a connector was down then is not the operator's doing."""

    LEDGER_FIELDS = ("area", "starts_at", "ends_at", "reason", "flagged_by", "height")

    uid = models.UUIDField(unique=True, editable=False)
    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid area"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    flagged_by = models.CharField(max_length=32)
    height = models.BigIntegerField()

    class Meta:
        ordering = ["starts_at", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)


@ledger.state.rows.register
class Curtailment(models.Model):
    """The area's grid company limits its charging power for a time range: each operator's gateway
    applies its piles' share through OCPP smart charging (docs/intervals.md, "Curtailment")."""

    LEDGER_FIELDS = ("uid", "area", "starts_at", "ends_at", "limit_kw", "rated_total_kw", "reason", "requested_by",
                     "height")

    uid = models.UUIDField(unique=True, editable=False)
    area = models.ForeignKey(GridArea, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid area"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    limit_kw = models.DecimalField(_("limit (kW)"), max_digits=10, decimal_places=1)
    # The rated power of the area's admitted piles when the curtailment was applied: the piles' shares
    # are of it, so they add up to at most the limit whoever joins the area later.
    rated_total_kw = models.DecimalField(_("rated power of the area (kW)"), max_digits=12, decimal_places=1)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    requested_by = models.CharField(max_length=32)
    height = models.BigIntegerField()

    objects = RestrictedQuerySet.as_manager()
    restriction = MembersSee()

    class Meta:
        ordering = ["starts_at", "uid"]

    @property
    def public_id(self) -> str:
        return str(self.uid)
