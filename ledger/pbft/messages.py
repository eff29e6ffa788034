"""Protocol messages: a signed envelope around a canonical JSON body.

Wire format: 64-byte Ed25519 signature, then the body's canonical JSON. The body always names its
kind ("t"), the chain and the sender ("from"). The signature covers the body bytes under a "pbft"
domain tag, with two exceptions:

* COMMIT's signature covers exactly `commit_vote_bytes`, so that a quorum of COMMIT signatures is the
  block's commit certificate. A COMMIT body carries nothing else, so no unsigned field can travel in it.
* PRE-PREPARE's signature covers the body with its transactions replaced by their digest
  (`txs_digest`: SHA-256 of the canonical transaction list, signatures included), as in Castro-Liskov
  PBFT, where the primary signs <v, n, d> and the request rides along. So the same signature proves
  the PRE-PREPARE in its *digest form* (`txs_digest` in place of `txs`), which is how VIEW-CHANGE and
  NEW-VIEW carry it: their size no longer grows with the blocks' bodies. A digest-form PRE-PREPARE is
  accepted only embedded in another message (`unembed`) or from this replica's own store, never as a
  message of its own; `with_txs` turns it back into the full form given a body that matches the digest.

Decoding checks shape only (it cannot know keys); `verify_envelope` checks the signer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ledger.chain.block import commit_vote_bytes
from ledger.chain.crypto import SigningKey
from ledger.chain.encoding import EncodingError, canonical, check_nesting, hexdigest

SIG_LEN = 64
DOMAIN = b"pbft\x00"
MAX_WIRE_BYTES = 64 * 1024 * 1024

REQUEST = "request"
PREPREPARE = "preprepare"
PREPARE = "prepare"
COMMIT = "commit"
CHECKPOINT = "checkpoint"
VIEWCHANGE = "viewchange"
NEWVIEW = "newview"
STATUS = "status"
FETCH = "fetch"
BLOCKS = "blocks"
BODYFETCH = "bodyfetch"
BODY = "body"

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class MessageError(ValueError):
    """Bytes that are not a well-formed protocol message."""


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _hash(v):
    return isinstance(v, str) and bool(_HASH_RE.match(v))


def _hexes(v):
    # Cheap shape check only; unembed() parses the hex and the signature inside decides the rest.
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _dict(v):
    return isinstance(v, dict)


def _list(v):
    return isinstance(v, list)


def _bool(v):
    return isinstance(v, bool)


def _checkpoint_ref(v):
    return (
        isinstance(v, dict)
        and set(v) == {"height", "block", "state_root"}
        and _int(v["height"])
        and _hash(v["block"])
        and _hash(v["state_root"])
    )


def _prepared_list(v):
    return isinstance(v, list) and all(
        isinstance(c, dict)
        and set(c) == {"preprepare", "prepares"}
        and _hexes([c["preprepare"]])
        and _hexes(c["prepares"])
        for c in v
    )


_COMMON = {"t", "chain", "from"}
SCHEMAS: dict[str, dict] = {
    REQUEST: {"txs": _list},
    PREPREPARE: {"view": _int, "height": _int, "header": _dict, "txs": _list},
    # PREPREPARE_DIGEST_FORM below: the same message with "txs_digest" in place of "txs".
    PREPARE: {"view": _int, "height": _int, "block": _hash},
    COMMIT: {"view": _int, "height": _int, "block": _hash},
    CHECKPOINT: {"height": _int, "block": _hash, "state_root": _hash},
    VIEWCHANGE: {"view": _int, "checkpoint": _checkpoint_ref, "proof": _hexes, "prepared": _prepared_list},
    NEWVIEW: {"view": _int, "viewchanges": _hexes, "preprepares": _hexes},
    STATUS: {"view": _int, "active": _bool, "height": _int, "stable": _int},
    FETCH: {"from_height": _int, "to_height": _int},
    BLOCKS: {"blocks": _list},
    # A replica that installed a re-proposed block without its body asks peers for the transactions
    # of the PRE-PREPARE (view, height) by their digest; a peer holding them answers with BODY.
    BODYFETCH: {"view": _int, "height": _int, "txs_digest": _hash},
    BODY: {"view": _int, "height": _int, "txs": _list},
}
PREPREPARE_DIGEST_FORM = {"view": _int, "height": _int, "header": _dict, "txs_digest": _hash}


@dataclass
class Envelope:
    kind: str
    sender: str
    body: dict
    body_bytes: bytes
    sig: bytes
    wire: bytes = field(repr=False)

    @property
    def chain(self) -> str:
        return self.body["chain"]

    def signed_bytes(self) -> bytes:
        if self.kind == PREPREPARE:
            return DOMAIN + digest_form(self).body_bytes
        return signed_bytes(self.body, self.body_bytes)

    def __getitem__(self, name):
        return self.body[name]

    @property
    def is_digest_form(self) -> bool:
        """A PRE-PREPARE that carries its transactions' digest instead of the transactions."""
        return self.kind == PREPREPARE and "txs_digest" in self.body

    @property
    def txs_digest(self) -> str:
        """A PRE-PREPARE's transactions digest, whichever form it travels in (computed once)."""
        cached = getattr(self, "_txs_digest", None)
        if cached is None:
            cached = self.body["txs_digest"] if self.is_digest_form else txs_digest(self.body["txs"])
            self._txs_digest = cached
        return cached


def txs_digest(txs: list) -> str:
    """What a PRE-PREPARE's signature covers of its transactions: their canonical list, signatures
    included (a transaction's id leaves its signature out, so tx_root alone would not bind them)."""
    return hexdigest(txs)


def _preprepare_signed_body(body: dict, digest: str | None = None) -> dict:
    if "txs_digest" in body:
        return body
    signed = {k: v for k, v in body.items() if k != "txs"}
    signed["txs_digest"] = digest or txs_digest(body["txs"])
    return signed


def signed_bytes(body: dict, body_bytes: bytes) -> bytes:
    if body["t"] == COMMIT:
        return commit_vote_bytes(body["chain"], body["view"], body["height"], body["block"])
    if body["t"] == PREPREPARE:
        # Both forms sign the digest form's canonical bytes.
        return DOMAIN + (body_bytes if "txs_digest" in body else canonical(_preprepare_signed_body(body)))
    return DOMAIN + body_bytes


def sign(key: SigningKey, body: dict) -> Envelope:
    """Encode once and sign; the envelope keeps its wire bytes so nothing is re-encoded to send."""
    _check_shape(body)
    body_bytes = canonical(body)
    sig = key.sign(signed_bytes(body, body_bytes))
    return Envelope(body["t"], body["from"], body, body_bytes, sig, sig + body_bytes)


def _resealed(env: Envelope, body: dict) -> Envelope:
    _check_shape(body)
    body_bytes = canonical(body)
    return Envelope(body["t"], body["from"], body, body_bytes, env.sig, env.sig + body_bytes)


def digest_form(env: Envelope) -> Envelope:
    """The PRE-PREPARE without its transactions, under the same signature."""
    if env.kind != PREPREPARE:
        raise MessageError("only a PRE-PREPARE has a digest form")
    if env.is_digest_form:
        return env
    cached = getattr(env, "_digest_form", None)
    if cached is None:
        cached = env._digest_form = _resealed(env, _preprepare_signed_body(env.body, env.txs_digest))
        cached._txs_digest = cached.body["txs_digest"]
    return cached


def with_txs(env: Envelope, txs: list) -> Envelope:
    """The full PRE-PREPARE from its digest form and a body; MessageError unless the body is the one
    the signature covers (so the result verifies exactly when the digest form does)."""
    if not env.is_digest_form:
        raise MessageError("with_txs takes a PRE-PREPARE in its digest form")
    if not isinstance(txs, list) or txs_digest(txs) != env.body["txs_digest"]:
        raise MessageError("transactions do not match the PRE-PREPARE's digest")
    body = {k: v for k, v in env.body.items() if k != "txs_digest"}
    body["txs"] = txs
    full = _resealed(env, body)
    full._txs_digest = env.body["txs_digest"]
    return full


def decode(wire: bytes, *, digest_form_ok: bool = False) -> Envelope:
    """`digest_form_ok`: accept a PRE-PREPARE in its digest form (embedded or stored ones only)."""
    if not isinstance(wire, (bytes, bytearray)):
        raise MessageError("a message is bytes")
    wire = bytes(wire)
    if len(wire) <= SIG_LEN or len(wire) > MAX_WIRE_BYTES:
        raise MessageError("message too short or too long")
    sig, body_bytes = wire[:SIG_LEN], wire[SIG_LEN:]
    try:
        # A peer's bytes: nesting is capped before the recursive parser runs, so a deep document is a
        # refused message, not a RecursionError whose depth depends on this process's stack.
        check_nesting(body_bytes)
        body = json.loads(body_bytes.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
    except EncodingError as exc:
        raise MessageError(f"body is not acceptable JSON: {exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MessageError(f"body is not JSON: {exc}") from exc
    _check_shape(body)
    if not digest_form_ok and body["t"] == PREPREPARE and "txs_digest" in body:
        raise MessageError("a PRE-PREPARE without its transactions travels only inside another message")
    return Envelope(body["t"], body["from"], body, body_bytes, sig, wire)


def _no_float(text):
    raise MessageError(f"floats are not allowed: {text}")


def _check_shape(body) -> None:
    if not isinstance(body, dict):
        raise MessageError("body must be an object")
    kind = body.get("t")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if kind == PREPREPARE and "txs_digest" in body:
        schema = PREPREPARE_DIGEST_FORM
    if schema is None:
        raise MessageError(f"unknown message kind {kind!r}")
    expected = _COMMON | set(schema)
    if set(body) != expected:
        raise MessageError(f"{kind}: fields must be exactly {sorted(expected)}")
    if not isinstance(body["chain"], str) or not isinstance(body["from"], str):
        raise MessageError(f"{kind}: chain and from must be strings")
    for name, check in schema.items():
        if not check(body[name]):
            raise MessageError(f"{kind}: bad field {name!r}")


def verify_envelope(env: Envelope, validators) -> str | None:
    """None when the envelope is authentic, else the reason to drop it."""
    if env.chain != validators.chain_id:
        return "wrong_chain"
    key = validators.key(env.sender)
    if key is None:
        return "unknown_signer"
    if not key.verify(env.sig, env.signed_bytes()):
        return "bad_signature"
    return None


def embed(env: Envelope) -> str:
    """A message carried inside another (certificates in VIEW-CHANGE and NEW-VIEW). A PRE-PREPARE is
    always embedded in its digest form: that is what bounds those messages by headers, not bodies."""
    if env.kind == PREPREPARE:
        env = digest_form(env)
    return env.wire.hex()


def unembed(hex_wire: str) -> Envelope:
    try:
        return decode(bytes.fromhex(hex_wire), digest_form_ok=True)
    except ValueError as exc:
        if isinstance(exc, MessageError):
            raise
        raise MessageError("embedded message is not hex") from exc


@dataclass(frozen=True)
class Outgoing:
    """A message for the runtime to deliver to each replica in `to`."""

    to: tuple[str, ...]
    env: Envelope

    @property
    def data(self) -> bytes:
        return self.env.wire
