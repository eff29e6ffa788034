"""Sealed payload sections: a part of a transaction that only named readers can open.

The plaintext (any canonically encodable value) is encrypted once with AES-256-GCM under a random
data key; the data key is wrapped for each reader: ephemeral X25519 key agreement with the reader's
public key, HKDF-SHA256 with an info string naming the reader, AES-256-GCM key wrap. The reader
list (ids, their public keys, the ephemeral keys), the nonce and the commitment are the associated
data of every wrap and, with all the wraps, of the payload, so stripping, adding, renaming or
re-wrapping a reader breaks decryption for everyone. Opening a section needs no key but the reader's
own X25519 private key. What no reader can check is that the sealer wrapped the right key for the
*other* readers: a dishonest sealer can leave one reader unable to open what the others read (that
reader then holds a section that fails to open, signed by the sealer, as evidence).

The section also carries a commitment, sha256(canonical(plaintext) || salt) with a random 32-byte
salt. The salt travels inside the ciphertext: a reader learns it on opening and can later reveal
(plaintext, salt) to anyone, who checks it against the commitment on the ledger. Opening also
checks the commitment, so what the readers see is what was committed to.

Pure: no clock, no I/O; randomness comes from `rng` (os.urandom unless a test passes its own).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.chain.encoding import EncodingError, canonical, decode, sha256

SCHEME = "pilechain-sealed-v1"
KEY_SIZE = 32
NONCE_SIZE = 12
SALT_SIZE = 32
# Each wrap key comes from a fresh ephemeral key agreement and encrypts exactly one message, so a
# fixed nonce is safe for the wrap.
WRAP_NONCE = bytes(NONCE_SIZE)
MAX_READERS = 256
SECTION_FIELDS = {"scheme", "readers", "nonce", "ciphertext", "commitment"}
READER_FIELDS = {"id", "pk", "epk", "wrapped"}
HEX32_RE = re.compile(r"[0-9a-f]{64}")

Rng = Callable[[int], bytes]


class SealError(ValueError):
    """A section that cannot be sealed or opened."""


class NotAReader(SealError):
    """The section was not sealed to this reader id, or not to this reader's key."""


class SealedTampered(SealError):
    """The section is malformed or was altered after sealing."""


# X25519 keys of readers, as raw 32 bytes (hex on the wire).


@dataclass(frozen=True)
class X25519KeyPair:
    private: bytes
    public: bytes

    @classmethod
    def generate(cls, rng: Rng = os.urandom) -> "X25519KeyPair":
        return cls.from_private(_random(rng, KEY_SIZE))

    @classmethod
    def from_private(cls, private: bytes) -> "X25519KeyPair":
        return cls(bytes(private), x25519_public_from_private(private))

    @classmethod
    def from_hex(cls, private_hex: str) -> "X25519KeyPair":
        return cls.from_private(_hex32(private_hex, "X25519 private key"))

    def private_hex(self) -> str:
        return self.private.hex()

    def public_hex(self) -> str:
        return self.public.hex()


def x25519_public_from_private(private: bytes) -> bytes:
    return _raw_public(_load_private(private).public_key())


def x25519_public_from_hex(public_hex: str) -> bytes:
    """Parse and check a reader's public key as published (64 hex characters)."""
    raw = _hex32(public_hex, "X25519 public key")
    _load_public(raw)
    return raw


# Sealing and opening.


def commitment(plaintext_obj: Any, salt: bytes) -> str:
    """Hex sha256(canonical(plaintext) || salt); the salt has a fixed size, so the split is unique."""
    return sha256(canonical(plaintext_obj) + bytes(salt)).hex()


def seal(plaintext_obj: Any, readers: dict[str, bytes], rng: Rng = os.urandom) -> dict:
    """A section that only `readers` (reader id -> X25519 public key, raw 32 bytes) can open."""
    if not isinstance(readers, dict) or not readers:
        raise SealError("a sealed section needs at least one reader")
    if len(readers) > MAX_READERS:
        raise SealError(f"at most {MAX_READERS} readers")
    try:
        plaintext = canonical(plaintext_obj)
    except EncodingError as exc:
        raise SealError(f"plaintext is not encodable: {exc}") from exc
    for reader_id, public in readers.items():
        _check_reader_id(reader_id)
        if not isinstance(public, (bytes, bytearray)) or len(public) != KEY_SIZE:
            raise SealError(f"reader {reader_id!r}: an X25519 public key is 32 raw bytes")

    data_key = _random(rng, KEY_SIZE)
    nonce = _random(rng, NONCE_SIZE)
    salt = _random(rng, SALT_SIZE)
    ephemerals = {rid: _load_private(_random(rng, KEY_SIZE)) for rid in sorted(readers)}
    entries = [
        {"id": rid, "pk": bytes(readers[rid]).hex(), "epk": _raw_public(ephemerals[rid].public_key()).hex()}
        for rid in sorted(readers)
    ]
    section = {
        "scheme": SCHEME,
        "readers": entries,
        "nonce": nonce.hex(),
        "commitment": sha256(plaintext + salt).hex(),
    }
    aad = _associated_data(section)
    for entry in entries:
        rid = entry["id"]
        try:
            reader_public = _load_public(readers[rid])
            shared = ephemerals[rid].exchange(reader_public)
        except (ValueError, SealError) as exc:  # a low-order point gives an all-zero secret
            raise SealError(f"reader {rid!r}: unusable X25519 public key") from exc
        kek = _wrap_key(shared, bytes.fromhex(entry["epk"]), bytes(readers[rid]), rid)
        entry["wrapped"] = _b64(AESGCM(kek).encrypt(WRAP_NONCE, data_key, aad))
    section["ciphertext"] = _b64(AESGCM(data_key).encrypt(nonce, plaintext + salt, _payload_associated_data(section)))
    return section


def open_sealed(section: Any, reader_id: str, x25519_private: bytes | X25519PrivateKey) -> Any:
    """The plaintext, for a reader. NotAReader or SealedTampered otherwise."""
    return open_sealed_with_salt(section, reader_id, x25519_private)[0]


def open_sealed_with_salt(
    section: Any, reader_id: str, x25519_private: bytes | X25519PrivateKey
) -> tuple[Any, bytes]:
    """The plaintext and the commitment's salt, which the reader needs to prove the content later."""
    _check_shape(section)
    entry = next((e for e in section["readers"] if e["id"] == reader_id), None)
    if entry is None:
        raise NotAReader(f"the section is not sealed to {reader_id!r}")
    try:
        private = x25519_private if isinstance(x25519_private, X25519PrivateKey) else _load_private(x25519_private)
    except SealError as exc:
        raise NotAReader(f"not a usable X25519 private key: {exc}") from exc
    own_public = _raw_public(private.public_key())
    if own_public.hex() != entry["pk"]:
        raise NotAReader(f"the section is sealed to another key of {reader_id!r}")

    aad = _associated_data(section)
    try:
        shared = private.exchange(_load_public(bytes.fromhex(entry["epk"])))
        kek = _wrap_key(shared, bytes.fromhex(entry["epk"]), own_public, reader_id)
        data_key = AESGCM(kek).decrypt(WRAP_NONCE, _unb64(entry["wrapped"]), aad)
        opened = AESGCM(data_key).decrypt(
            bytes.fromhex(section["nonce"]), _unb64(section["ciphertext"]), _payload_associated_data(section)
        )
    except (InvalidTag, ValueError) as exc:
        raise SealedTampered("the section was altered after sealing (authentication failed)") from exc
    if len(opened) < SALT_SIZE:
        raise SealedTampered("the opened section is too short")
    plaintext, salt = opened[:-SALT_SIZE], opened[-SALT_SIZE:]
    if sha256(plaintext + salt).hex() != section["commitment"]:
        raise SealedTampered("the content does not match the section's commitment")
    try:
        return decode(plaintext), salt
    except EncodingError as exc:
        raise SealedTampered(f"the content is not canonical: {exc}") from exc


def verify_commitment(section: Any, plaintext_obj: Any, salt: bytes | str) -> bool:
    """True when (plaintext, salt) is what the section committed to. Never raises."""
    try:
        salt_bytes = bytes.fromhex(salt) if isinstance(salt, str) else bytes(salt)
        if len(salt_bytes) != SALT_SIZE or not isinstance(section, dict):
            return False
        return commitment(plaintext_obj, salt_bytes) == section.get("commitment")
    except (EncodingError, ValueError, TypeError):
        return False


def section_readers(section: Any) -> list[str]:
    """Reader ids named by a well-formed section (who may open it); SealedTampered otherwise."""
    _check_shape(section)
    return [e["id"] for e in section["readers"]]


# Internals.


def _associated_data(section: dict) -> bytes:
    """What every wrap authenticates: the whole section except the wraps and the ciphertext."""
    return canonical(
        {
            "t": "sealed",
            "scheme": section["scheme"],
            "readers": [[e["id"], e["pk"], e["epk"]] for e in section["readers"]],
            "nonce": section["nonce"],
            "commitment": section["commitment"],
        }
    )


def _payload_associated_data(section: dict) -> bytes:
    """What the ciphertext authenticates: all of the above and every reader's wrap, so that a
    replaced wrap breaks the section for all readers, not just silently for one."""
    wraps = [e["wrapped"] for e in section["readers"]]
    return canonical({"t": "sealed-payload", "section": sha256(_associated_data(section)).hex(), "wraps": wraps})


def _wrap_key(shared: bytes, epk: bytes, reader_public: bytes, reader_id: str) -> bytes:
    # The info names the scheme and the reader, so a wrap made for one reader (or one purpose) can
    # never be taken for another's; the salt binds both public keys of the agreement.
    info = canonical({"t": "sealed-wrap", "scheme": SCHEME, "reader": reader_id})
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=epk + reader_public, info=info).derive(shared)


def _check_shape(section: Any) -> None:
    """Refuse anything that is not exactly a section as `seal` makes it, before any crypto."""
    if not isinstance(section, dict) or set(section) != SECTION_FIELDS:
        raise SealedTampered("not a sealed section: wrong fields")
    if section["scheme"] != SCHEME:
        raise SealedTampered(f"unknown scheme {section['scheme']!r}")
    readers = section["readers"]
    if not isinstance(readers, list) or not 0 < len(readers) <= MAX_READERS:
        raise SealedTampered("the reader list is malformed")
    for e in readers:
        if not isinstance(e, dict) or set(e) != READER_FIELDS:
            raise SealedTampered("a reader entry is malformed")
        if not isinstance(e["id"], str) or not _is_hex32(e["pk"]) or not _is_hex32(e["epk"]):
            raise SealedTampered("a reader entry is malformed")
        if not isinstance(e["wrapped"], str):
            raise SealedTampered("a reader entry is malformed")
    ids = [e["id"] for e in readers]
    if ids != sorted(set(ids)):
        raise SealedTampered("reader ids must be distinct and sorted")
    if not isinstance(section["nonce"], str) or not re.fullmatch(r"[0-9a-f]{24}", section["nonce"]):
        raise SealedTampered("the nonce is malformed")
    if not _is_hex32(section["commitment"]) or not isinstance(section["ciphertext"], str):
        raise SealedTampered("the section is malformed")


def _check_reader_id(reader_id: Any) -> None:
    if not isinstance(reader_id, str) or not reader_id:
        raise SealError("reader ids are non-empty strings")
    try:
        canonical(reader_id)
    except EncodingError as exc:
        raise SealError(f"reader id {reader_id!r}: {exc}") from exc


def _random(rng: Rng, size: int) -> bytes:
    value = rng(size)
    if not isinstance(value, (bytes, bytearray)) or len(value) != size:
        raise SealError(f"rng must return {size} bytes")
    return bytes(value)


def _load_private(raw: Any) -> X25519PrivateKey:
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != KEY_SIZE:
        raise SealError("an X25519 private key is 32 raw bytes")
    return X25519PrivateKey.from_private_bytes(bytes(raw))


def _load_public(raw: Any) -> X25519PublicKey:
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != KEY_SIZE:
        raise SealError("an X25519 public key is 32 raw bytes")
    return X25519PublicKey.from_public_bytes(bytes(raw))


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _hex32(text: Any, what: str) -> bytes:
    if not _is_hex32(text):
        raise SealError(f"{what} must be 64 lower-case hex characters")
    return bytes.fromhex(text)


def _is_hex32(text: Any) -> bool:
    return isinstance(text, str) and HEX32_RE.fullmatch(text) is not None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    # Strict: one encoding per byte string, so a section cannot be re-spelled without changing it.
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64") from exc
    if _b64(data) != text:
        raise ValueError("base64 not in canonical form")
    return data
