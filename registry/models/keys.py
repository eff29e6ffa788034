"""Public keys of devices: piles, their meters (OCMF) and field test boxes."""

import functools
import hashlib

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from ledger.state import rows

from ledger.chain import crypto
from registry.access import RestrictedQuerySet
from registry.models.piles import Pile
from registry.models.testboxes import FieldTestBox


class KeyKind(models.TextChoices):
    ED25519 = crypto.ED25519, _("Ed25519")
    P256 = crypto.P256, _("ECDSA P-256")


class KeyPurpose(models.TextChoices):
    DEVICE = "device", _("Device signing")
    METER = "meter", _("Meter (OCMF signed meter values)")


class KeyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")


@functools.lru_cache(maxsize=50_000)
def parsed_key(kind: str, public_key_hex: str) -> crypto.PublicKey:
    """Parsing checks the point (on the curve, not of small order): worth doing once per key."""
    return crypto.PublicKey.from_hex(kind, public_key_hex)


def fingerprint_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@rows.register
class DeviceKey(models.Model):
    """A public key bound to exactly one pile or one test box. The fingerprint is its public id."""

    pile = models.ForeignKey(
        Pile, verbose_name=_("pile"), on_delete=models.PROTECT, related_name="keys", null=True, blank=True
    )
    test_box = models.ForeignKey(
        FieldTestBox, verbose_name=_("test box"), on_delete=models.PROTECT, related_name="keys", null=True, blank=True
    )
    purpose = models.CharField(_("purpose"), max_length=16, choices=KeyPurpose.choices, default=KeyPurpose.DEVICE)
    kind = models.CharField(_("kind"), max_length=16, choices=KeyKind.choices)
    public_key_hex = models.CharField(_("public key (hex)"), max_length=130)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=KeyStatus.choices, default=KeyStatus.ACTIVE)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    # Valid for transactions in blocks added_height <= h < revoked_height: what the key signed
    # before its revocation stays verifiable against the chain.
    added_height = models.BigIntegerField(_("added at block"), null=True, blank=True, editable=False)
    revoked_height = models.BigIntegerField(_("revoked at block"), null=True, blank=True, editable=False)
    revoked_reason = models.CharField(_("reason for revocation"), max_length=200, blank=True)

    LEDGER_FIELDS = (
        "pile", "test_box", "purpose", "kind", "public_key_hex", "fingerprint", "label", "status",
        "revoked_at", "added_height", "revoked_height", "revoked_reason",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["fingerprint"]
        verbose_name = _("device key")
        verbose_name_plural = _("device keys")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pile__isnull=False, test_box__isnull=True)
                | models.Q(pile__isnull=True, test_box__isnull=False),
                name="registry_devicekey_one_device",
                violation_error_message=_("A key belongs to exactly one pile or one test box."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.fingerprint[:16]}"

    @property
    def public_id(self) -> str:
        return self.fingerprint

    @property
    def device(self):
        return self.pile or self.test_box

    def get_absolute_url(self) -> str:
        return self.device.get_absolute_url()

    def public_key(self) -> crypto.PublicKey:
        return parsed_key(self.kind, self.public_key_hex)

    def clean(self):
        if (self.pile_id is None) == (self.test_box_id is None):
            raise ValidationError({"pile": _("A key belongs to exactly one pile or one test box.")})
        if self.test_box_id and self.purpose == KeyPurpose.METER:
            raise ValidationError({"purpose": _("Meter keys belong to piles, not test boxes.")})
        try:
            key = crypto.PublicKey.from_hex(self.kind, self.public_key_hex)
        except crypto.InvalidKey as exc:
            raise ValidationError({"public_key": str(exc)}) from exc
        expected = fingerprint_of(key.raw)
        if self.fingerprint and self.fingerprint != expected:
            raise ValidationError({"fingerprint": _("The fingerprint does not match the key.")})
