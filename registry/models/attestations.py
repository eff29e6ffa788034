"""What piles say about themselves, signed with their own device keys."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.state import rows
from registry.access import RestrictedQuerySet
from registry.models.piles import Pile


@rows.register
class FirmwareAttestation(models.Model):
    """A pile's signed statement of the firmware it runs: version and image hash, at a block time.
    An image the operator did not approve, or a version going backwards, shows here first."""

    uid = models.UUIDField(_("public id"), unique=True, editable=False)
    pile = models.ForeignKey(Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="attestations")
    firmware_version = models.CharField(_("firmware version"), max_length=100)
    image_sha256 = models.CharField(_("image SHA-256"), max_length=64)
    reported_at = models.DateTimeField(_("reported at"))
    height = models.BigIntegerField(_("block height"))
    tx_id = models.CharField(_("transaction"), max_length=64, unique=True)

    LEDGER_FIELDS = ("uid", "pile", "firmware_version", "image_sha256", "reported_at", "height", "tx_id")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-height", "uid"]
        verbose_name = _("firmware attestation")
        verbose_name_plural = _("firmware attestations")

    def __str__(self) -> str:
        return f"{self.pile_id} {self.firmware_version}"

    @property
    def public_id(self) -> str:
        return str(self.uid)
