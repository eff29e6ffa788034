"""Per-pile metrological compliance as the ledger holds it, and its history for point-in-time questions."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.state import rows
from registry.access import PileData, RestrictedQuerySet


class ComplianceStatus(models.TextChoices):
    COMPLIANT = "compliant", _("Compliant")
    NON_COMPLIANT = "non_compliant", _("Non-compliant")


@rows.register
class PileCompliance(models.Model):
    """The pile's standing after its latest verification record. "Overdue" is not stored: a compliant
    pile whose due date has passed is overdue at that time (calibration.contracts.compliance)."""

    LEDGER_FIELDS = ("pile", "status", "since_height", "since", "due_on", "last_record")

    pile = models.OneToOneField("registry.Pile", verbose_name=_("pile"), on_delete=models.PROTECT,
                                related_name="compliance")
    status = models.CharField(_("status"), max_length=16, choices=ComplianceStatus.choices)
    since_height = models.BigIntegerField(_("since height"))
    since = models.DateTimeField(_("since"))
    due_on = models.DateField(_("next verification due"))
    last_record = models.ForeignKey("calibration.VerificationRecord", verbose_name=_("last record"),
                                    on_delete=models.PROTECT, related_name="+")

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["pile__code"]
        verbose_name = _("pile compliance")
        verbose_name_plural = _("pile compliance")

    def __str__(self) -> str:
        return f"{self.pile_id} {self.status}"

    @property
    def public_id(self) -> str:
        return self.pile.code


@rows.register
class ComplianceChange(models.Model):
    """One row per filed record: the standing it set from its block on (the history behind PileCompliance).

    Newest first is NEWEST_FIRST: a filing and its correction may share a block (and so `since`), and
    the later transaction of the block is the newer change. Never by id (node-local)."""

    NEWEST_FIRST = ("-height", "-tx_index")
    LEDGER_FIELDS = ("pile", "status", "height", "tx_index", "since", "due_on", "record")

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey("registry.Pile", on_delete=models.PROTECT, related_name="compliance_changes")
    status = models.CharField(max_length=16, choices=ComplianceStatus.choices)
    height = models.BigIntegerField()
    tx_index = models.PositiveIntegerField(default=0)  # the filing's place in its block
    since = models.DateTimeField()
    due_on = models.DateField()
    record = models.OneToOneField("calibration.VerificationRecord", on_delete=models.PROTECT, related_name="+")

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["pile__code", "-height", "-tx_index"]
        indexes = [models.Index(fields=["pile", "height"])]

    @property
    def public_id(self) -> str:
        return str(self.uid)
