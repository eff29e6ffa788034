"""Signature verification of OCMF records with the `cryptography` package.

What is checked: the ECDSA signature in SD, decoded per SE and SM, over the payload section's exact
bytes, with SHA-256 on the curve that SA names, against the meter key registered for the pile.
The key's curve must be the one SA names: SA is outside the signed data, so a record cannot be
allowed to choose a curve other than the key's.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from .errors import (
    BadSignature,
    InvalidPublicKey,
    KeyMismatch,
    MalformedSignature,
    OcmfError,
    Reason,
    UnsupportedAlgorithm,
)
from .model import Record, Signature
from .parser import split

# OCMF table 22. The specification spells brainpool "brainpool256r1"; meters write
# "brainpoolP256r1" (the SAFE test corpus does), so both spellings name the same curve.
ALGORITHMS: dict[str, type[ec.EllipticCurve]] = {
    "ECDSA-secp192r1-SHA256": ec.SECP192R1,  # ~96-bit security; defined by OCMF, so accepted
    "ECDSA-secp256r1-SHA256": ec.SECP256R1,  # the default
    "ECDSA-secp256k1-SHA256": ec.SECP256K1,
    "ECDSA-secp384r1-SHA256": ec.SECP384R1,
    "ECDSA-brainpool256r1-SHA256": ec.BrainpoolP256R1,
    "ECDSA-brainpoolP256r1-SHA256": ec.BrainpoolP256R1,
    "ECDSA-brainpool384r1-SHA256": ec.BrainpoolP384R1,
    "ECDSA-brainpoolP384r1-SHA256": ec.BrainpoolP384R1,
}
# Defined by OCMF but not offered by `cryptography` (OpenSSL has no secp192k1).
NOT_AVAILABLE = {"ECDSA-secp192k1-SHA256": "secp192k1"}

_SEPARATORS = re.compile(r"[\s:]+")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    reason: Reason
    detail: str = ""

    def __bool__(self) -> bool:
        return self.ok


def verify(record: Record | str | bytes, public_key) -> VerifyResult:
    """Check a record's signature. Never raises for bad input: the reason says what is wrong."""
    try:
        check_signature(record, public_key)
    except OcmfError as exc:
        return VerifyResult(False, exc.reason, str(exc))
    return VerifyResult(True, Reason.OK)


def check_signature(record: Record | str | bytes, public_key) -> None:
    """Like `verify`, but raises the specific OcmfError subclass.

    `record` may be a raw string: then only the framing and JSON are checked, so that a record
    whose readings we would refuse can still be shown to be authentic (or not).
    `public_key`: hex (whitespace and ':' allowed) or bytes of a DER SubjectPublicKeyInfo, as OCMF
    tooling publishes keys, or of a SEC1 point (read on SA's curve); or an EllipticCurvePublicKey.
    """
    if isinstance(record, Record):
        signed, signature = record.signed_bytes, record.signature
    else:
        signed, _, signature = split(record)
    curve = curve_for(signature.algorithm)
    der = signature_bytes(signature)
    key = load_public_key(public_key, curve)
    if key.curve.name != curve.name:
        raise KeyMismatch(f"key is on {key.curve.name}, the record says {signature.algorithm}")
    try:
        key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise BadSignature("signature does not match the payload and key") from exc


def curve_for(algorithm: str) -> ec.EllipticCurve:
    if algorithm in NOT_AVAILABLE:
        raise UnsupportedAlgorithm(
            f"{algorithm} is defined by OCMF but {NOT_AVAILABLE[algorithm]} is not available"
        )
    try:
        return ALGORITHMS[algorithm]()
    except KeyError:
        raise UnsupportedAlgorithm(f"unknown signature algorithm {algorithm!r}") from None


def signature_bytes(signature: Signature) -> bytes:
    """SD decoded to DER, checked to be a DER ECDSA-Sig-Value (SEQUENCE of r and s)."""
    if signature.mime_type != "application/x-der":
        raise UnsupportedAlgorithm(f"signature mime type {signature.mime_type!r} is not supported")
    if signature.encoding == "hex":
        if not _HEX.fullmatch(signature.data):
            raise MalformedSignature("SD is not hex")
        der = bytes.fromhex(signature.data)
    elif signature.encoding == "base64":
        try:
            der = base64.b64decode(signature.data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedSignature("SD is not base64") from exc
    else:
        raise UnsupportedAlgorithm(f"signature encoding {signature.encoding!r} is not supported")
    try:
        decode_dss_signature(der)
    except ValueError as exc:
        raise MalformedSignature("SD is not a DER-encoded ECDSA signature") from exc
    return der


def load_public_key(key, curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePublicKey:
    """Read a meter key. A bare SEC1 point carries no curve, so it is read on `curve`."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key
    if isinstance(key, str):
        cleaned = _SEPARATORS.sub("", key)
        if not _HEX.fullmatch(cleaned):
            raise InvalidPublicKey("public key is not hex")
        key = bytes.fromhex(cleaned)
    if not isinstance(key, (bytes, bytearray, memoryview)) or not key:
        raise InvalidPublicKey("public key must be hex, bytes or an EllipticCurvePublicKey")
    data = bytes(key)
    if data[0] == 0x30:
        try:
            loaded = serialization.load_der_public_key(data)
        except (ValueError, _CryptoUnsupported) as exc:
            raise InvalidPublicKey(f"public key is not a usable DER SubjectPublicKeyInfo: {exc}") from exc
        if not isinstance(loaded, ec.EllipticCurvePublicKey):
            raise InvalidPublicKey("public key is not an elliptic-curve key")
        return loaded
    if curve is None:
        raise InvalidPublicKey("a bare SEC1 point needs the curve of the record's algorithm")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, data)
    except ValueError as exc:
        raise InvalidPublicKey(f"public key is not a point on {curve.name}") from exc
