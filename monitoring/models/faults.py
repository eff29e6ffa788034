"""Faults: committed reports (ledger-owned) and the detecting node's dedupe watch (node-local)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

import ledger.state.rows
from registry.access import PileData, RestrictedQuerySet
from registry.models import Pile


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")


class FaultKind(models.TextChoices):
    STATUS = "status", _("Faulted status")
    SILENT = "silent", _("Gone silent")
    ENERGY_BACKWARDS = "energy_backwards", _("Energy register went backwards")
    OVER_POWER = "over_power", _("Power above rated")
    AREA_OVERLOAD = "area_overload", _("Grid area overload")


METERING_KINDS = {FaultKind.ENERGY_BACKWARDS.value, FaultKind.OVER_POWER.value}


@ledger.state.rows.register
class Fault(models.Model):
    LEDGER_FIELDS = (
        "pile", "connector_id", "kind", "error_code", "severity", "detail", "detected_at", "metering",
        "reported_by", "height",
    )

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="+")
    connector_id = models.PositiveSmallIntegerField(_("connector"))
    kind = models.CharField(_("kind"), max_length=32, choices=FaultKind.choices)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    detected_at = models.DateTimeField(_("detected at"))
    metering = models.BooleanField(_("metering fault"), default=False)
    reported_by = models.CharField(_("reported by"), max_length=32)
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(max_length=64, unique=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["-height", "uid"]
        verbose_name = _("fault")
        verbose_name_plural = _("faults")

    def __str__(self) -> str:
        return f"{self.pile_id}#{self.connector_id} {self.kind}"

    @property
    def public_id(self) -> str:
        return str(self.uid)


class FaultWatch(models.Model):
    """On the detecting node: a fault condition that is ongoing and already reported, so it is
    reported once; cleared when the condition ends (status back to normal, pile heard again)."""

    pile = models.ForeignKey(Pile, on_delete=models.CASCADE, related_name="+")
    connector_id = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=32)
    tx_id = models.CharField(max_length=64)
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pile", "connector_id", "kind"], condition=models.Q(cleared_at__isnull=True),
                name="mon_faultwatch_one_open",
            )
        ]
