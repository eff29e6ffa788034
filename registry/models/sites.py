"""Charging stations: the sites where piles stand."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ledger.state import rows

from registry.access import RestrictedQuerySet
from registry.models.grid import GridArea
from registry.models.identity import CODE_VALIDATOR, Institution
from registry.roles import InstitutionRole

# The consortium operates in mainland China: a point outside this box is a typo (swapped or
# sign-flipped coordinates are the usual ones), not a real site.
LATITUDE_RANGE = (Decimal("3.5"), Decimal("53.6"))
LONGITUDE_RANGE = (Decimal("73.4"), Decimal("135.1"))


@rows.register
class Station(models.Model):
    operator = models.ForeignKey(
        Institution, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="stations"
    )
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[
            MinValueValidator(LATITUDE_RANGE[0], _("Latitude must be within China (3.5 to 53.6).")),
            MaxValueValidator(LATITUDE_RANGE[1], _("Latitude must be within China (3.5 to 53.6).")),
        ],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[
            MinValueValidator(LONGITUDE_RANGE[0], _("Longitude must be within China (73.4 to 135.1).")),
            MaxValueValidator(LONGITUDE_RANGE[1], _("Longitude must be within China (73.4 to 135.1).")),
        ],
    )
    grid_area = models.ForeignKey(
        GridArea, verbose_name=_("grid area"), on_delete=models.PROTECT, related_name="stations"
    )
    # Private: the contact name, phone and notes, sealed (ledger.chain.sealed) for the institutions
    # that may read a station's private fields: its operator, the regulators, the metrology
    # institutes and the grid company owning its area (registry.contracts.sites.station_readers).
    # Every node stores the section; only those institutions' nodes can open it
    # (registry.selectors.station_private). Null: no private fields.
    private_sealed = models.JSONField(_("sealed private fields"), null=True, blank=True)

    # The block that last changed this row (every node has the same one).
    height = models.BigIntegerField(_("block height"), null=True, blank=True, editable=False)

    # The fields inside `private_sealed`, with their longest length.
    PRIVATE_FIELDS = ("contact_name", "contact_phone", "notes")
    PRIVATE_MAX_LENGTH = {"contact_name": 100, "contact_phone": 40, "notes": 2000}
    LEDGER_FIELDS = (
        "operator", "code", "name", "address", "latitude", "longitude", "grid_area", "private_sealed", "height",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def public_id(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("registry:station_detail", args=[self.code])

    def clean(self):
        if self.operator_id and self.operator.role != InstitutionRole.OPERATOR:
            raise ValidationError({"operator": _("A station must belong to a charge-point operator.")})
