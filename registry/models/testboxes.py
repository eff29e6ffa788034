"""Field test boxes: the metrology institutes' reference meters carried to the piles."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ledger.state import rows

from registry.access import RestrictedQuerySet
from registry.models.constraints import FieldKeyedConstraintsMixin
from registry.models.identity import Institution
from registry.models.piles import RESERVED_PATH_WORDS
from registry.roles import InstitutionRole

SERIAL_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$",
    _("Use 2-64 letters, digits, '.', '_' or '-', starting with a letter or digit."),
)


class TestBoxStatus(models.TextChoices):
    ACTIVE = "active", _("In use")
    RETIRED = "retired", _("Retired")


@rows.register
class FieldTestBox(FieldKeyedConstraintsMixin, models.Model):
    owner = models.ForeignKey(
        Institution, verbose_name=_("metrology institute"), on_delete=models.PROTECT, related_name="test_boxes"
    )
    serial = models.CharField(_("serial"), max_length=64, validators=[SERIAL_VALIDATOR])
    model_name = models.CharField(_("model"), max_length=100)
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    certificate_no = models.CharField(_("certificate number"), max_length=100)
    certificate_expires_on = models.DateField(_("certificate expiry date"))
    status = models.CharField(_("status"), max_length=16, choices=TestBoxStatus.choices, default=TestBoxStatus.ACTIVE)

    # The block that last changed this row (every node has the same one).
    height = models.BigIntegerField(_("block height"), null=True, blank=True, editable=False)

    CONSTRAINT_FIELDS = {"registry_testbox_serial_ci_unique": "serial"}
    LEDGER_FIELDS = (
        "owner", "serial", "model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status", "height",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["serial"]
        verbose_name = _("field test box")
        verbose_name_plural = _("field test boxes")
        constraints = [
            models.UniqueConstraint(
                Lower("serial"), name="registry_testbox_serial_ci_unique",
                violation_error_message=_("A test box with this serial already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def public_id(self) -> str:
        return self.serial

    def get_absolute_url(self) -> str:
        return reverse("registry:testbox_detail", args=[self.serial])

    def clean(self):
        if self.serial and self.serial.lower() in RESERVED_PATH_WORDS:
            raise ValidationError({"serial": _("This serial is reserved for the pages' addresses.")})
        if self.owner_id and self.owner.role != InstitutionRole.METROLOGY:
            raise ValidationError({"owner": _("A field test box must belong to a metrology institute.")})
