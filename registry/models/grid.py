"""Grid areas: the part of the distribution network (feeder, transformer) that supplies stations."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ledger.state import rows

from registry.access import RestrictedQuerySet
from registry.models.identity import CODE_VALIDATOR, Institution
from registry.roles import InstitutionRole


@rows.register
class GridArea(models.Model):
    owner = models.ForeignKey(
        Institution, verbose_name=_("grid company"), on_delete=models.PROTECT, related_name="grid_areas"
    )
    code = models.CharField(_("code"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    feeder_name = models.CharField(_("feeder"), max_length=200, blank=True)
    transformer_name = models.CharField(_("transformer"), max_length=200, blank=True)
    capacity_kw = models.DecimalField(
        _("capacity (kW)"), max_digits=10, decimal_places=1, validators=[MinValueValidator(0)]
    )

    # The block that last changed this row (every node has the same one).
    height = models.BigIntegerField(_("block height"), null=True, blank=True, editable=False)

    objects = RestrictedQuerySet.as_manager()
    LEDGER_FIELDS = ("owner", "code", "name", "feeder_name", "transformer_name", "capacity_kw", "height")

    class Meta:
        ordering = ["code"]
        verbose_name = _("grid area")
        verbose_name_plural = _("grid areas")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def public_id(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("registry:gridarea_detail", args=[self.code])

    def clean(self):
        if self.owner_id and self.owner.role != InstitutionRole.GRID:
            raise ValidationError({"owner": _("A grid area must belong to a power-supply company.")})
