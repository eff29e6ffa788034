"""Device keys: added, revoked and rotated by the device's owner, or rotated by the device itself
with the key it replaces; also how the other contracts add a device's keys and revoke them all."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger import signers
from ledger.chain import crypto
from ledger.contracts import DEVICE, NODE, register
from registry.contracts.common import (
    announce, device_id, owner_signs, payload_fields, require_active, resolve_exact, text_value,
)
from registry.models import DeviceKey, FieldTestBox, Institution, KeyPurpose, KeyStatus, Pile
from registry.models.keys import fingerprint_of


def _key_device(payload):
    pile = payload.get("pile")
    box = payload.get("test_box")
    if (pile in (None, "")) == (box in (None, "")):
        raise ValidationError({"pile": _("Give exactly one of a pile or a test box.")})
    if pile not in (None, ""):
        return resolve_exact(Pile, pile, field="pile")
    return resolve_exact(FieldTestBox, box, field="test_box", lookup="serial")


def owner_of(device) -> Institution:
    return device.station.operator if isinstance(device, Pile) else device.owner


def add_key(ctx, device, item) -> DeviceKey:
    item = payload_fields(item, ("kind", "public_key_hex"), ("purpose", "label"))
    kind = text_value(item["kind"], "kind")
    if kind not in crypto.KINDS:
        raise ValidationError({"kind": _("Key kind must be one of: %(kinds)s.") % {"kinds": ", ".join(crypto.KINDS)}})
    try:
        key = crypto.PublicKey.from_hex(kind, text_value(item["public_key_hex"], "public_key_hex"))
    except crypto.InvalidKey as exc:
        raise ValidationError({"public_key": str(exc)}) from exc
    fingerprint = fingerprint_of(key.raw)
    if DeviceKey.objects.filter(fingerprint=fingerprint).exists():
        raise ValidationError({"public_key": _("This key is already registered.")})
    device_key = DeviceKey(
        pile=device if isinstance(device, Pile) else None,
        test_box=device if isinstance(device, FieldTestBox) else None,
        purpose=text_value(item.get("purpose"), "purpose") or KeyPurpose.DEVICE, kind=key.kind,
        public_key_hex=key.hex, fingerprint=fingerprint, label=text_value(item.get("label"), "label"),
        added_height=ctx.block_height,
    )
    device_key.full_clean(exclude=["height"])
    ctx.save(device_key)
    _forget(device)
    return device_key


def _forget(device) -> None:
    signers.forget_device(device_id(device))


def _revoke(ctx, key: DeviceKey, reason: str) -> None:
    _forget(key.device)
    key.status = KeyStatus.REVOKED
    key.revoked_at = ctx.block_time
    key.revoked_height = ctx.block_height
    key.revoked_reason = reason[:200]
    ctx.save(key)


def revoke_all(ctx, device, reason: str) -> None:
    for key in device.keys.filter(status=KeyStatus.ACTIVE).order_by("fingerprint"):
        _revoke(ctx, key, reason)


@register("registry.device_key_add", roles={"operator", "metrology"})
def device_key_add(ctx, tx):
    """The owner of a pile or test box registers one more public key for it."""
    p = payload_fields(tx.payload, ("kind", "public_key_hex"), ("pile", "test_box", "purpose", "label"))
    device = _key_device(p)
    owner_signs(ctx, owner_of(device), "device")
    require_active(device)
    key = add_key(ctx, device, {k: v for k, v in p.items() if k not in ("pile", "test_box")})
    announce(ctx, "created", key)


@register("registry.device_key_revoke", roles={"operator", "metrology"})
def device_key_revoke(ctx, tx):
    """A key stops signing from this block on; what it signed before stays verifiable."""
    p = payload_fields(tx.payload, ("fingerprint",), ("reason",))
    key = resolve_exact(DeviceKey, p["fingerprint"], field="fingerprint", lookup="fingerprint")
    owner_signs(ctx, owner_of(key.device), "device")
    if key.status == KeyStatus.REVOKED:
        raise ValidationError({"status": _("This key is already revoked.")})
    _revoke(ctx, key, text_value(p.get("reason"), "reason") or "revoked by its owner")
    announce(ctx, "revoked", key)


@register("registry.device_key_rotate", signer_kinds=(NODE, DEVICE), roles={"operator", "metrology"})
def device_key_rotate(ctx, tx):
    """A new key replaces an old one in one step: by the device's owner, or by the device itself
    with the key it is replacing (proof that it holds it)."""
    p = payload_fields(tx.payload, ("fingerprint", "public_key_hex", "kind"), ("label",))
    old = resolve_exact(DeviceKey, p["fingerprint"], field="fingerprint", lookup="fingerprint")
    device = old.device
    if ctx.signer_kind == DEVICE:
        if ctx.signer_id != device_id(device):
            ctx.reject(f"device {ctx.signer_id} may not rotate a key of {device_id(device)}")
        signed_with = crypto.PublicKey.from_hex(tx.key_kind, old.public_key_hex) if old.kind == tx.key_kind else None
        if signed_with is None or not tx.verify(signed_with):
            ctx.reject("a device rotates a key by signing with that very key")
    else:
        owner_signs(ctx, owner_of(device), "device")
    if old.status == KeyStatus.REVOKED:
        raise ValidationError({"fingerprint": _("This key is already revoked.")})
    require_active(device)
    _revoke(ctx, old, "rotated")
    new = add_key(ctx, device, {"kind": p["kind"], "public_key_hex": p["public_key_hex"],
                                 "purpose": old.purpose, "label": p.get("label") or old.label})
    announce(ctx, "rotated", new)
