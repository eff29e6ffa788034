"""Device keys: admitted, rotated and revoked by the device owner's transactions (registry.contracts).
A device may also rotate its own key with a transaction it signs (see the contract)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.chain import crypto
from core.submit import submit
from registry import security_log
from registry.models import DeviceKey, FieldTestBox, KeyKind, KeyPurpose, KeyStatus, Pile
from registry.models import SecurityEventKind as Kind
from registry.services.common import require, resolve


def parse_public_key(public_key: str, kind: str | None = None) -> crypto.PublicKey:
    """A public key pasted as PEM or as hex raw bytes of the given kind."""
    if kind and kind not in KeyKind.values:
        raise ValidationError({"kind": _("Key kind must be one of: %(kinds)s.") % {"kinds": ", ".join(KeyKind.values)}})
    try:
        return crypto.PublicKey.parse(kind or None, public_key)
    except crypto.InvalidKey as exc:
        raise ValidationError({"public_key": str(exc)}) from exc


def key_payload(*, public_key: str, kind: str | None = None, purpose: str = KeyPurpose.DEVICE, label: str = "",
                index: int | None = None) -> dict:
    try:
        key = parse_public_key(public_key, kind)
    except ValidationError as exc:
        if index is None:
            raise
        raise ValidationError({"keys": [f"[{index}] {m}" for msgs in exc.message_dict.values() for m in msgs]}) from exc
    return {"kind": key.kind, "public_key_hex": key.hex, "purpose": purpose, "label": label}


def device_key_add(
    *,
    actor,
    public_key: str,
    kind: str | None = None,
    pile=None,
    test_box=None,
    purpose: str = KeyPurpose.DEVICE,
    label: str = "",
):
    """Registers one more public key of a pile or a test box."""
    pile = resolve(Pile, pile, field="pile", required=False)
    test_box = resolve(FieldTestBox, test_box, field="test_box", lookup="serial", required=False)
    if (pile is None) == (test_box is None):
        raise ValidationError({"pile": _("Give exactly one of a pile or a test box.")})
    device = pile or test_box
    require(actor, "change", device)
    payload = {**key_payload(public_key=public_key, kind=kind, purpose=purpose, label=label),
               "pile" if pile else "test_box": device.public_id}
    submission = submit(actor=actor, type="registry.device_key_add", payload=payload, institution=_owner(device))
    security_log.record(Kind.KEY_ADDED, user=actor, detail=f"{device.public_id} {purpose} {payload['public_key_hex'][:16]}…")
    return submission


def device_key_revoke(*, actor, device_key: DeviceKey, reason: str = ""):
    require(actor, "change", device_key)
    if device_key.status == KeyStatus.REVOKED:
        raise ValidationError({"status": _("This key is already revoked.")})
    submission = submit(actor=actor, type="registry.device_key_revoke",
                        payload={"fingerprint": device_key.fingerprint, "reason": reason},
                        institution=_owner(device_key.device))
    security_log.record(Kind.KEY_REVOKED, user=actor, detail=f"{device_key.fingerprint} {reason}")
    return submission


def device_key_rotate(*, actor, device_key: DeviceKey, public_key: str, kind: str | None = None, label: str = ""):
    """Replaces a key by a new one in one transaction."""
    require(actor, "change", device_key)
    new = key_payload(public_key=public_key, kind=kind)
    payload = {"fingerprint": device_key.fingerprint, "public_key_hex": new["public_key_hex"], "kind": new["kind"],
               "label": label}
    submission = submit(actor=actor, type="registry.device_key_rotate", payload=payload,
                        institution=_owner(device_key.device))
    security_log.record(Kind.KEY_REVOKED, user=actor, detail=f"{device_key.fingerprint} rotated")
    security_log.record(Kind.KEY_ADDED, user=actor, detail=f"{new['public_key_hex'][:16]}… replacing it")
    return submission


def _owner(device):
    return device.station.operator if isinstance(device, Pile) else device.owner
