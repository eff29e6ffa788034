"""Signing keys and public keys: Ed25519 for institution nodes, Ed25519 or ECDSA P-256 for devices.

Public keys travel as (kind, raw bytes): 32 bytes for Ed25519, the 65-byte uncompressed SEC1 point
for P-256 (33-byte compressed points and PEM are accepted on input). P-256 signatures are the 64-byte
r||s form used on the wire; DER (as OCMF and most meter hardware emit) is accepted by `verify`.
`verify` never raises on a bad signature or key: it answers False.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

ED25519 = "ed25519"
P256 = "p256"
KINDS = (ED25519, P256)
_P256_ORDER_BYTES = 32


class InvalidKey(ValueError):
    """A key that cannot be used: wrong kind, wrong length, not on the curve, unreadable PEM."""


@dataclass(frozen=True)
class PublicKey:
    kind: str
    raw: bytes

    def __post_init__(self):
        # Parse once to refuse invalid keys at the edge; keep the parsed object for verification.
        key = _load_public(self.kind, self.raw)
        object.__setattr__(self, "_key", key)
        if self.kind == P256:
            # One key, one form: a compressed point is stored uncompressed, so equal keys compare equal.
            object.__setattr__(
                self,
                "raw",
                key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
            )
        else:
            object.__setattr__(self, "raw", bytes(self.raw))

    @classmethod
    def from_hex(cls, kind: str, hex_raw: str) -> "PublicKey":
        try:
            raw = bytes.fromhex(hex_raw)
        except (ValueError, TypeError) as exc:
            raise InvalidKey("public key is not hex") from exc
        return cls(kind, raw)

    @classmethod
    def from_pem(cls, pem: str | bytes) -> "PublicKey":
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, Exception) as exc:  # cryptography raises several types here
            raise InvalidKey(f"unreadable PEM public key: {exc}") from exc
        return cls._from_object(key)

    @classmethod
    def parse(cls, kind: str | None, text: str) -> "PublicKey":
        """A key as a person pastes it: PEM (kind taken from it) or hex raw bytes of the given kind."""
        text = (text or "").strip()
        if text.startswith("-----BEGIN"):
            key = cls.from_pem(text)
            if kind and key.kind != kind:
                raise InvalidKey(f"the PEM holds a {key.kind} key, not {kind}")
            return key
        if kind not in KINDS:
            raise InvalidKey(f"key kind must be one of {', '.join(KINDS)}")
        return cls.from_hex(kind, text)

    @classmethod
    def _from_object(cls, key) -> "PublicKey":
        if isinstance(key, ed25519.Ed25519PublicKey):
            return cls(ED25519, key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            return cls(
                P256,
                key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint),
            )
        raise InvalidKey("only Ed25519 and ECDSA P-256 keys are accepted")

    @property
    def hex(self) -> str:
        return self.raw.hex()

    def to_pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            if self.kind == ED25519:
                self._key.verify(signature, data)
            else:
                self._key.verify(_p256_der(signature), data, ec.ECDSA(hashes.SHA256()))
            return True
        except (InvalidSignature, ValueError, TypeError, OverflowError):
            return False


def _load_public(kind: str, raw: bytes):
    if not isinstance(raw, (bytes, bytearray)):
        raise InvalidKey("public key must be bytes")
    raw = bytes(raw)
    if kind == ED25519:
        if len(raw) != 32:
            raise InvalidKey("an Ed25519 public key is 32 bytes")
        problem = _ed25519_point_problem(raw)
        if problem:
            raise InvalidKey(f"invalid Ed25519 key: {problem}")
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise InvalidKey(f"invalid Ed25519 key: {exc}") from exc
    if kind == P256:
        if len(raw) not in (33, 65):
            raise InvalidKey("a P-256 public key is a 33- or 65-byte SEC1 point")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise InvalidKey(f"invalid P-256 point: {exc}") from exc
    raise InvalidKey(f"key kind must be one of {', '.join(KINDS)}")


# OpenSSL loads any 32 bytes as an Ed25519 public key, and for a key of small order (the identity,
# for one) it accepts signatures that anyone can make for any message. So decode the point here and
# refuse encodings that are not canonical, not on the curve, or of order dividing 8.
_ED_P = 2**255 - 19
_ED_D = (-121665 * pow(121666, -1, _ED_P)) % _ED_P
_ED_SQRT_M1 = pow(2, (_ED_P - 1) // 4, _ED_P)


def _ed25519_point_problem(raw: bytes) -> str | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    x_is_odd = raw[31] >> 7
    if y >= _ED_P:
        return "non-canonical encoding"
    u, v = (y * y - 1) % _ED_P, (_ED_D * y * y + 1) % _ED_P
    x = (u * pow(v, 3, _ED_P) * pow(u * pow(v, 7, _ED_P), (_ED_P - 5) // 8, _ED_P)) % _ED_P
    if (v * x * x - u) % _ED_P:
        x = x * _ED_SQRT_M1 % _ED_P
    if (v * x * x - u) % _ED_P:
        return "not a point on the curve"
    if x == 0 and x_is_odd:
        return "non-canonical encoding"
    if x % 2 != x_is_odd:
        x = _ED_P - x
    point = (x, y)
    for _ in range(3):  # multiply by the cofactor 8
        point = _ed25519_add(point, point)
    if point == (0, 1):
        return "a point of small order"
    return None


def _ed25519_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _ED_D * x1 * x2 * y1 * y2 % _ED_P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, _ED_P) % _ED_P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, -1, _ED_P) % _ED_P
    return x3, y3


def _p256_der(signature: bytes) -> bytes:
    if len(signature) == 2 * _P256_ORDER_BYTES:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        return encode_dss_signature(r, s)
    return signature  # assume DER; a malformed one fails verification


class SigningKey:
    """A private key. Institution nodes hold Ed25519; devices hold Ed25519 or P-256."""

    def __init__(self, kind: str, key):
        self.kind = kind
        self._key = key
        self.public_key = PublicKey._from_object(key.public_key())

    @classmethod
    def generate(cls, kind: str = ED25519) -> "SigningKey":
        if kind == ED25519:
            return cls(kind, ed25519.Ed25519PrivateKey.generate())
        if kind == P256:
            return cls(kind, ec.generate_private_key(ec.SECP256R1()))
        raise InvalidKey(f"key kind must be one of {', '.join(KINDS)}")

    @classmethod
    def from_seed(cls, seed: bytes) -> "SigningKey":
        """A deterministic Ed25519 key from 32 bytes (simulations and tests)."""
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise InvalidKey("an Ed25519 seed is 32 bytes")
        return cls(ED25519, ed25519.Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, pem: str | bytes, password: bytes | None = None) -> "SigningKey":
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except Exception as exc:  # ValueError, TypeError, UnsupportedAlgorithm, depending on the input
            raise InvalidKey(f"unreadable PEM private key: {exc}") from exc
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return cls(ED25519, key)
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return cls(P256, key)
        raise InvalidKey("only Ed25519 and ECDSA P-256 keys are accepted")

    def to_pem(self) -> str:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    def sign(self, data: bytes) -> bytes:
        if self.kind == ED25519:
            return self._key.sign(data)
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
