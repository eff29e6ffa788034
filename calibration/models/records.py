"""Verification records: what a metrology institute filed for one pile, with the box-signed measurement."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from calibration import certificates
from ledger.state import rows
from registry.access import PileData, RestrictedQuerySet


class VerificationKind(models.TextChoices):
    FIRST = "first", _("First verification")
    SUBSEQUENT = "subsequent", _("Subsequent verification")


class Conclusion(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


@rows.register
class VerificationRecord(models.Model):
    """Written once by calibration.record_file and never changed. A correction is a new record whose
    `corrects` names the one it replaces; the original stays as it was filed."""

    LEDGER_FIELDS = (
        "pile", "test_box", "institution", "inspector", "kind", "pile_kind", "accuracy_class", "time_of_use",
        "box_serial", "sequence", "measured_at", "measurement", "observations", "regulation", "data_revision",
        "items", "conclusion", "next_due_on", "corrects", "correction_reason", "height", "filed_at",
    )

    uid = models.UUIDField(unique=True, editable=False)
    pile = models.ForeignKey("registry.Pile", verbose_name=_("pile"), on_delete=models.PROTECT,
                             related_name="verification_records")
    test_box = models.ForeignKey("registry.FieldTestBox", verbose_name=_("test box"), on_delete=models.PROTECT,
                                 related_name="verification_records")
    institution = models.CharField(_("metrology institute"), max_length=32)  # the node that signed the filing
    inspector = models.CharField(_("inspector"), max_length=150)
    kind = models.CharField(_("verification"), max_length=16, choices=VerificationKind.choices)
    pile_kind = models.CharField(_("pile kind"), max_length=2)
    accuracy_class = models.PositiveSmallIntegerField(_("accuracy class"))
    time_of_use = models.BooleanField(_("time-of-use pile"))
    box_serial = models.CharField(_("box serial"), max_length=64)
    sequence = models.BigIntegerField(_("box sequence"))
    measured_at = models.DateTimeField(_("measured at"))
    measurement = models.JSONField(_("box-signed measurement"))
    observations = models.JSONField(_("observations"))  # visual checks and insulation, typed by the staff
    regulation = models.CharField(_("regulation"), max_length=32)
    data_revision = models.PositiveIntegerField(_("limits data revision"))
    items = models.JSONField(_("item results"))  # computed by calibration.limits.evaluate
    conclusion = models.CharField(_("conclusion"), max_length=8, choices=Conclusion.choices)
    next_due_on = models.DateField(_("next verification due"))
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), on_delete=models.RESTRICT, null=True,
                                 blank=True, related_name="corrections")
    correction_reason = models.CharField(_("correction reason"), max_length=500, blank=True)
    height = models.BigIntegerField(_("block height"))
    filed_at = models.DateTimeField(_("filed at"))
    tx_id = models.CharField(max_length=64, unique=True)

    objects = RestrictedQuerySet.as_manager()
    restriction = PileData()

    class Meta:
        ordering = ["-height", "uid"]
        verbose_name = _("verification record")
        verbose_name_plural = _("verification records")
        indexes = [models.Index(fields=["pile", "height"]), models.Index(fields=["box_serial", "sequence"])]

    def __str__(self) -> str:
        return f"{self.pile_id} {self.conclusion} @{self.height}"

    @property
    def public_id(self) -> str:
        return str(self.uid)

    @property
    def passed(self) -> bool:
        return self.conclusion == Conclusion.PASS

    def item_rows(self) -> list[dict]:
        return certificates.item_rows(self)

    def get_absolute_url(self) -> str:
        return reverse("calibration:record_detail", args=[self.uid])
