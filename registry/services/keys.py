from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.chain import crypto
from registry.models import DeviceKey, FieldTestBox, KeyKind, KeyPurpose, KeyStatus, Pile
from registry.models.keys import fingerprint_of
from registry.services.common import announce, insert, locked, require, resolve


@transaction.atomic
def device_key_add(
    *,
    actor,
    public_key: str,
    kind: str | None = None,
    pile=None,
    test_box=None,
    purpose: str = KeyPurpose.DEVICE,
    label: str = "",
) -> DeviceKey:
    """Registers a device's public key, pasted as PEM or as hex raw bytes of the given kind."""
    pile = resolve(Pile, pile, field="pile", required=False)
    test_box = resolve(FieldTestBox, test_box, field="test_box", lookup="serial", required=False)
    if (pile is None) == (test_box is None):
        raise ValidationError({"pile": _("Give exactly one of a pile or a test box.")})
    require(actor, "change", pile or test_box)
    if kind and kind not in KeyKind.values:
        raise ValidationError({"kind": _("Key kind must be one of: %(kinds)s.") % {"kinds": ", ".join(KeyKind.values)}})
    try:
        key = crypto.PublicKey.parse(kind or None, public_key)
    except crypto.InvalidKey as exc:
        raise ValidationError({"public_key": str(exc)}) from exc
    fingerprint = fingerprint_of(key.raw)
    if DeviceKey.objects.filter(fingerprint=fingerprint).exists():
        raise ValidationError({"public_key": _("This key is already registered.")})
    device_key = DeviceKey(
        pile=pile,
        test_box=test_box,
        purpose=purpose,
        kind=key.kind,
        public_key_hex=key.hex,
        fingerprint=fingerprint,
        label=label,
    )
    device_key.full_clean()
    insert(device_key)
    announce("created", device_key, actor=actor)
    return device_key


@transaction.atomic
def device_key_revoke(*, actor, device_key: DeviceKey) -> DeviceKey:
    require(actor, "change", device_key)
    device_key = locked(device_key)
    if device_key.status == KeyStatus.REVOKED:
        raise ValidationError({"status": _("This key is already revoked.")})
    device_key.status = KeyStatus.REVOKED
    device_key.revoked_at = timezone.now()
    device_key.save(update_fields=["status", "revoked_at"])
    announce("revoked", device_key, actor=actor)
    return device_key
