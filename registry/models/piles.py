"""Charging piles and their connectors."""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ledger.state import rows

from registry.access import RestrictedQuerySet
from registry.models.constraints import FieldKeyedConstraintsMixin
from registry.models.public_ids import derived_uuid
from registry.models.sites import Station

# The pile code is also its OCPP charge-point identity, which appears in the websocket URL:
# at most 48 characters, URL-unreserved ones only (OCPP 2.0.1 part 4, 1.6-J alike).
PILE_CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._~-]{1,47}$",
    _("Use 2-48 letters, digits, '.', '_', '~' or '-', starting with a letter or digit."),
)


# Page addresses like /registry/piles/new/ put codes and these words in the same place.
RESERVED_PATH_WORDS = {"new"}


class PileKind(models.TextChoices):
    AC = "ac", _("AC")
    DC = "dc", _("DC")


class PileStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")
    RETIRED = "retired", _("Retired")


class AccuracyClass(models.IntegerChoices):
    CLASS_1 = 1, _("Class 1")
    CLASS_2 = 2, _("Class 2")


@rows.register
class Pile(FieldKeyedConstraintsMixin, models.Model):
    station = models.ForeignKey(Station, verbose_name=_("station"), on_delete=models.PROTECT, related_name="piles")
    code = models.CharField(
        _("code"),
        max_length=48,
        validators=[PILE_CODE_VALIDATOR],
        help_text=_("Also the pile's OCPP charge-point identity; unique in the whole consortium."),
    )
    kind = models.CharField(_("kind"), max_length=2, choices=PileKind.choices)
    rated_power_kw = models.DecimalField(
        _("rated power (kW)"), max_digits=7, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    accuracy_class = models.PositiveSmallIntegerField(
        _("accuracy class"), choices=AccuracyClass.choices, default=AccuracyClass.CLASS_2
    )
    commissioned_on = models.DateField(_("commissioning date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=PileStatus.choices, default=PileStatus.PLANNED)
    # Subsidy policy pays its per-kWh operating subsidy only for public piles.
    public = models.BooleanField(
        _("public"), default=True,
        help_text=_("Open to any driver; a dedicated pile (a fleet depot's, a residential one) is not."),
    )
    # Private: commercial details of the operator's fleet.
    vendor = models.CharField(_("vendor"), max_length=100, blank=True)
    model_name = models.CharField(_("model"), max_length=100, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    firmware_version = models.CharField(_("firmware version"), max_length=100, blank=True)

    # The block that last changed this row (every node has the same one).
    height = models.BigIntegerField(_("block height"), null=True, blank=True, editable=False)

    PRIVATE_FIELDS = ("vendor", "model_name", "serial_number", "firmware_version")
    LEDGER_FIELDS = (
        "station", "code", "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status", "public",
        "vendor", "model_name", "serial_number", "firmware_version", "height",
    )
    CONSTRAINT_FIELDS = {"registry_pile_code_ci_unique": "code"}

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("pile")
        verbose_name_plural = _("piles")
        constraints = [
            # Charge points connect with their identity in a URL that people type: "sh-a-1" and
            # "SH-A-1" must not be two piles.
            models.UniqueConstraint(
                Lower("code"), name="registry_pile_code_ci_unique",
                violation_error_message=_("A pile with this code already exists."),
            ),
        ]
        # Contracts, the gateway and the pages find piles by their exact code (the unique index is on
        # the lower-cased code, which only `code__iexact` uses).
        indexes = [models.Index(fields=["code"], name="registry_pile_code")]

    def __str__(self) -> str:
        return self.code

    @property
    def public_id(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("registry:pile_detail", args=[self.code])

    def clean(self):
        if self.code and self.code.lower() in RESERVED_PATH_WORDS:
            raise ValidationError({"code": _("This code is reserved for the pages' addresses.")})
        if self.status == PileStatus.ACTIVE and not self.commissioned_on:
            raise ValidationError({"commissioned_on": _("An active pile needs a commissioning date.")})


class ConnectorStandard(models.TextChoices):
    GBT_AC = "gbt_ac", _("GB/T AC")
    GBT_DC = "gbt_dc", _("GB/T DC")
    TYPE2 = "type2", _("Type 2")
    CCS2 = "ccs2", _("CCS2")
    CHADEMO = "chademo", _("CHAdeMO")


@rows.register
class Connector(FieldKeyedConstraintsMixin, models.Model):
    """One plug of a pile, addressed both the OCPP 1.6 way and the 2.0.1 way."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="connectors")
    connector_id = models.PositiveSmallIntegerField(
        _("connector id (OCPP 1.6)"), validators=[MinValueValidator(1)],
        help_text=_("connectorId in OCPP 1.6; 0 means the whole pile there, so plugs start at 1."),
    )
    evse_id = models.PositiveSmallIntegerField(_("EVSE id (OCPP 2.0.1)"), validators=[MinValueValidator(1)])
    evse_connector_id = models.PositiveSmallIntegerField(
        _("connector id on the EVSE (OCPP 2.0.1)"), validators=[MinValueValidator(1)], default=1
    )
    standard = models.CharField(_("standard"), max_length=16, choices=ConnectorStandard.choices)
    max_power_kw = models.DecimalField(
        _("max power (kW)"), max_digits=7, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
    )

    # The block that last changed this row (every node has the same one).
    height = models.BigIntegerField(_("block height"), null=True, blank=True, editable=False)

    LEDGER_FIELDS = ("uid", "pile", "connector_id", "evse_id", "evse_connector_id", "standard", "max_power_kw", "height")
    CONSTRAINT_FIELDS = {
        "registry_connector_ocpp16_unique": "connector_id",
        "registry_connector_ocpp201_unique": "evse_id",
    }

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["pile__code", "connector_id"]
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        constraints = [
            models.UniqueConstraint(
                fields=["pile", "connector_id"], name="registry_connector_ocpp16_unique",
                violation_error_message=_("This pile already has a connector with this number."),
            ),
            models.UniqueConstraint(
                fields=["pile", "evse_id", "evse_connector_id"], name="registry_connector_ocpp201_unique",
                violation_error_message=_("This pile already has this EVSE and connector id."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pile.code}#{self.connector_id}"

    @staticmethod
    def derive_uid(pile_code: str, connector_id: int) -> uuid.UUID:
        return derived_uuid("connector", pile_code.upper(), connector_id)

    @property
    def public_id(self) -> str:
        return str(self.uid)

    def get_absolute_url(self) -> str:
        return self.pile.get_absolute_url()
