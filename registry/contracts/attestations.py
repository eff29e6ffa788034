"""What devices say about themselves: a pile attests the firmware it runs."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.contracts import DEVICE, register
from registry.contracts.common import device_id, payload_fields, resolve_exact, text_value
from registry.models import FirmwareAttestation, Pile


@register("registry.firmware_attest", signer_kinds=(DEVICE,))
def firmware_attest(ctx, tx):
    """A pile states, with its own key, the firmware it runs; only for itself."""
    p = payload_fields(tx.payload, ("pile", "firmware_version", "image_sha256"))
    pile = resolve_exact(Pile, p["pile"], field="pile")
    if ctx.signer_id != device_id(pile):
        ctx.reject(f"device {ctx.signer_id} may not report for {device_id(pile)}")
    image = text_value(p["image_sha256"], "image_sha256")
    if len(image) != 64 or any(c not in "0123456789abcdef" for c in image):
        raise ValidationError({"image_sha256": _("Give the image's SHA-256 as 64 lower-case hex characters.")})
    attestation = FirmwareAttestation(
        uid=ctx.derive_uuid("firmware"), pile=pile, firmware_version=text_value(p["firmware_version"], "firmware_version"),
        image_sha256=image, reported_at=ctx.block_time, height=ctx.block_height, tx_id=tx.id,
    )
    # Field checks only: the pile was just resolved, the ids derive from this transaction's own.
    attestation.clean_fields(exclude=["pile"])
    ctx.save(attestation)
