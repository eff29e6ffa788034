"""Transactions: a contract name, a payload, and who signed it.

The id is the hash of the body without the signature, so a re-encoded or malleated signature (ECDSA
signatures have two valid forms) can never make a second transaction out of the same body. The
signature covers the body under a "tx" domain tag, so no other signed message can be replayed as a
transaction. `chain_id` binds a transaction to one consortium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ledger.chain.crypto import ED25519, KINDS, P256, PublicKey, SigningKey
from ledger.chain.encoding import EncodingError, canonical, decode, sha256

TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")  # e.g. "registry.pile_register"
SIGNER_RE = re.compile(r"^(node|device):[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
MAX_NONCE_LEN = 64
SIGNATURE_HEX_RE = re.compile(r"(?:[0-9a-f]{2})+")
MIN_DER_SIG, MAX_DER_SIG = 8, 72  # SEQUENCE of two INTEGERs, each 1 to 33 bytes


class TxFormatError(ValueError):
    """A transaction that is not well formed."""


@dataclass(frozen=True)
class Transaction:
    chain_id: str
    type: str
    payload: dict
    signer: str  # "node:<institution code>" or "device:<device public id>"
    key_kind: str
    nonce: str
    signature: str  # hex

    def __post_init__(self):
        _validate(self)
        # A private copy: the id is cached, so a caller mutating its dict afterwards must not change
        # the payload under it.
        object.__setattr__(self, "payload", decode(canonical(self.payload)))

    def body(self) -> dict:
        return {
            "chain_id": self.chain_id,
            "type": self.type,
            "payload": self.payload,
            "signer": self.signer,
            "key_kind": self.key_kind,
            "nonce": self.nonce,
        }

    def signing_bytes(self) -> bytes:
        return signing_bytes(self.body())

    @property
    def id(self) -> str:
        cached = self.__dict__.get("_id")
        if cached is None:
            cached = sha256(canonical(self.body())).hex()
            object.__setattr__(self, "_id", cached)
        return cached

    def to_dict(self) -> dict:
        return {**self.body(), "signature": self.signature}

    @classmethod
    def from_dict(cls, data: Any) -> "Transaction":
        if not isinstance(data, dict):
            raise TxFormatError("a transaction is a JSON object")
        expected = {"chain_id", "type", "payload", "signer", "key_kind", "nonce", "signature"}
        if set(data) != expected:
            missing, extra = expected - set(data), set(data) - expected
            raise TxFormatError(f"fields missing: {sorted(missing)}; unexpected: {sorted(extra)}")
        return cls(**data)

    @classmethod
    def create(
        cls, *, chain_id: str, type: str, payload: dict, signer: str, key: SigningKey, nonce: str
    ) -> "Transaction":
        body = {
            "chain_id": chain_id,
            "type": type,
            "payload": payload,
            "signer": signer,
            "key_kind": key.kind,
            "nonce": nonce,
        }
        return cls(**body, signature=key.sign(signing_bytes(body)).hex())

    def verify(self, public_key: PublicKey) -> bool:
        if public_key.kind != self.key_kind:
            return False
        try:
            sig = bytes.fromhex(self.signature)
        except ValueError:
            return False
        return public_key.verify(sig, self.signing_bytes())

    @property
    def signer_kind(self) -> str:
        return self.signer.split(":", 1)[0]

    @property
    def signer_id(self) -> str:
        return self.signer.split(":", 1)[1]


def tx_id(data: Any) -> str:
    """The id of a transaction given as a Transaction or its dict (checked as from_dict does)."""
    tx = data if isinstance(data, Transaction) else Transaction.from_dict(data)
    return tx.id


def signing_bytes(body: dict) -> bytes:
    return canonical({"t": "tx", "body": body})


def _validate(tx: Transaction) -> None:
    if not isinstance(tx.chain_id, str) or not tx.chain_id:
        raise TxFormatError("chain_id must be a non-empty string")
    if not isinstance(tx.type, str) or not TYPE_RE.match(tx.type):
        raise TxFormatError("type must look like 'app.action'")
    if not isinstance(tx.payload, dict):
        raise TxFormatError("payload must be an object")
    if not isinstance(tx.signer, str) or not SIGNER_RE.match(tx.signer):
        raise TxFormatError("signer must be 'node:<code>' or 'device:<id>'")
    if tx.key_kind not in KINDS:
        raise TxFormatError(f"key_kind must be one of {', '.join(KINDS)}")
    if not isinstance(tx.nonce, str) or not 0 < len(tx.nonce) <= MAX_NONCE_LEN:
        raise TxFormatError(f"nonce must be a string of 1-{MAX_NONCE_LEN} characters")
    _validate_signature_shape(tx.key_kind, tx.signature)
    try:
        canonical(tx.body())
    except EncodingError as exc:
        raise TxFormatError(f"not encodable: {exc}") from exc
    # U+0000 is refused by the canonical encoding itself (PostgreSQL nodes could not store it).


def _validate_signature_shape(key_kind: str, signature: Any) -> None:
    """Shape only; `verify` decides validity. Ed25519 signatures are 64 bytes; P-256 ones are the
    64-byte r||s form or DER, which OCMF meters emit and which is shorter than 72 bytes now and then."""
    if not isinstance(signature, str) or not SIGNATURE_HEX_RE.fullmatch(signature):
        raise TxFormatError("signature must be lower-case hex of whole bytes")
    size = len(signature) // 2
    if key_kind == ED25519 and size != 64:
        raise TxFormatError("an Ed25519 signature is 64 bytes")
    if key_kind == P256 and size != 64 and not (MIN_DER_SIG <= size <= MAX_DER_SIG and signature[:2] == "30"):
        raise TxFormatError("a P-256 signature is 64 bytes r||s or a DER sequence")
