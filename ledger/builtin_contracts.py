"""The contracts the ledger itself provides: anchoring a batch of off-chain records by Merkle root."""

from __future__ import annotations

import re

from ledger.contracts import NODE, plain_text, register
from ledger.models import Anchor

HEX32 = re.compile(r"^[0-9a-f]{64}$")
KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
MAX_COUNT = 10**12


@register("ledger.anchor", signer_kinds=(NODE,), roles={"operator", "metrology", "grid"})
def anchor(ctx, tx):
    """Record the Merkle root of a batch of records a member keeps off the chain."""
    p = tx.payload
    if set(p) - {"kind", "root", "count", "reference"}:
        ctx.reject("unexpected fields in an anchor")
    if not isinstance(p.get("kind"), str) or not KIND.match(p["kind"]):
        ctx.reject("kind must be a short lower-case name")
    if not isinstance(p.get("root"), str) or not HEX32.match(p["root"]):
        ctx.reject("root must be 64 lower-case hex characters")
    count = p.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= MAX_COUNT:
        ctx.reject("count must be a positive integer")
    reference = p.get("reference", "")
    if not isinstance(reference, str) or len(reference) > 200:
        ctx.reject("reference must be a string of at most 200 characters")
    plain_text(reference, "reference")
    ctx.save(Anchor(
        uid=ctx.derive_uuid("anchor"), kind=p["kind"], root=p["root"], count=count, reference=reference,
        institution=ctx.signer_id, height=ctx.block_height, tx_id=tx.id,
    ))
