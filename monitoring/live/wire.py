"""A live batch on the wire between nodes (pure): the canonical bytes of {"batch", "sig"}, the
signature the source node's Ed25519 key made over the canonical bytes of the batch, prefixed with
a domain tag so that no other signed object of the platform can pass for one."""

from __future__ import annotations

from ledger.chain.encoding import EncodingError, canonical, decode

from monitoring.live.events import EventError, check_batch

DOMAIN = b"pilechain.live/1\n"


class WireError(ValueError):
    """A body that is not a signed batch of a member, for this node."""


def signed_bytes(batch: dict) -> bytes:
    return DOMAIN + canonical(batch)


def pack(batch: dict, signing_key) -> bytes:
    return canonical({"batch": batch, "sig": signing_key.sign(signed_bytes(batch)).hex()})


def unpack(body: bytes, *, consortium, me: str) -> dict:
    """The batch, once its shape, chain, addressee and its source's signature check out."""
    try:
        outer = decode(body)
    except (EncodingError, ValueError) as exc:
        raise WireError(f"not canonical JSON: {exc}") from None
    if not isinstance(outer, dict) or set(outer) != {"batch", "sig"} or not isinstance(outer["sig"], str):
        raise WireError("a body is {batch, sig}")
    try:
        batch = check_batch(outer["batch"])
    except EventError as exc:
        raise WireError(str(exc)) from None
    if batch["chain_id"] != consortium.chain_id:
        raise WireError("another consortium's batch")
    if batch["to"] != me:
        raise WireError("a batch for another node")
    source = consortium.member(batch["source"]) if isinstance(batch["source"], str) else None
    if source is None or source.code == me:
        raise WireError("the source is not another member")
    try:
        signature = bytes.fromhex(outer["sig"])
    except ValueError:
        raise WireError("the signature is not hex") from None
    if not source.signing_key.verify(signature, signed_bytes(batch)):
        raise WireError("bad signature")
    return batch
