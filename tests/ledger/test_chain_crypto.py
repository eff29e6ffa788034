"""Keys and signatures: parsing at the edge, and verification that answers False, never raises."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.chain.crypto import ED25519, P256, InvalidKey, PublicKey, SigningKey

FAST = settings(max_examples=100, deadline=None, database=None)
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED_KEY = SigningKey.from_seed(bytes(range(32)))
P_KEY = SigningKey.generate(P256)


@pytest.mark.parametrize("key", [ED_KEY, P_KEY], ids=["ed25519", "p256"])
def test_sign_verify(key):
    sig = key.sign(b"reading 42")
    assert key.public_key.verify(sig, b"reading 42")
    assert not key.public_key.verify(sig, b"reading 43")
    assert not SigningKey.generate(key.kind).public_key.verify(sig, b"reading 42")


@pytest.mark.parametrize("key", [ED_KEY, P_KEY], ids=["ed25519", "p256"])
@FAST
@given(sig=st.binary(max_size=80) | st.none() | st.text(max_size=70) | st.integers(), data=st.binary(max_size=8))
def test_verify_never_raises(key, sig, data):
    assert key.public_key.verify(sig, data) in (True, False)


def test_verify_garbage_data_type():
    assert ED_KEY.public_key.verify(ED_KEY.sign(b"x"), None) is False
    assert P_KEY.public_key.verify(P_KEY.sign(b"x"), "x") is False


def test_p256_accepts_der_and_high_s():
    sig = P_KEY.sign(b"m")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    assert P_KEY.public_key.verify(encode_dss_signature(r, s), b"m")
    assert P_KEY.public_key.verify(r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big"), b"m")
    assert not P_KEY.public_key.verify(sig[:32] + bytes(32), b"m")
    assert not P_KEY.public_key.verify(bytes(64), b"m")


@pytest.mark.parametrize("key", [ED_KEY, P_KEY], ids=["ed25519", "p256"])
def test_pem_and_hex_round_trip(key):
    pub = key.public_key
    assert PublicKey.from_pem(pub.to_pem()) == pub
    assert PublicKey.parse(None, pub.to_pem()) == pub
    assert PublicKey.parse(key.kind, "  " + pub.to_pem() + "\n") == pub
    assert PublicKey.parse(key.kind, pub.hex) == pub
    assert PublicKey.from_hex(key.kind, pub.hex) == pub
    again = SigningKey.from_pem(key.to_pem())
    assert again.public_key == pub and again.kind == key.kind


def test_parse_refuses_wrong_kind_and_missing_kind():
    with pytest.raises(InvalidKey):
        PublicKey.parse(P256, ED_KEY.public_key.to_pem())
    with pytest.raises(InvalidKey):
        PublicKey.parse(None, ED_KEY.public_key.hex)
    with pytest.raises(InvalidKey):
        PublicKey.parse("rsa", ED_KEY.public_key.hex)
    with pytest.raises(InvalidKey):
        PublicKey.parse(ED25519, "")


def test_compressed_p256_point_is_stored_uncompressed():
    raw = P_KEY.public_key.raw
    compressed = P_KEY._key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    assert len(raw) == 65 and len(compressed) == 33
    key = PublicKey(P256, compressed)
    assert key == P_KEY.public_key and key.raw == raw
    assert key.verify(P_KEY.sign(b"m"), b"m")


ED25519_SMALL_ORDER = [
    "0100000000000000000000000000000000000000000000000000000000000000",  # identity
    "0000000000000000000000000000000000000000000000000000000000000000",  # order 4
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # order 2
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  # order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  # order 8
]


@pytest.mark.parametrize("hex_raw", ED25519_SMALL_ORDER)
def test_small_order_ed25519_keys_refused(hex_raw):
    with pytest.raises(InvalidKey, match="small order"):
        PublicKey.from_hex(ED25519, hex_raw)


def test_identity_key_would_accept_forgeries():
    """Why small-order keys are refused: for the identity point, R = S*B verifies for any message."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    identity = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(ED25519_SMALL_ORDER[0]))
    base_point = bytes.fromhex("58" + "66" * 31)
    identity.verify(base_point + bytes([1]) + bytes(31), b"any message")  # does not raise


@pytest.mark.parametrize(
    "kind, raw, why",
    [
        (ED25519, bytes(31), "32 bytes"),
        (ED25519, bytes(33), "32 bytes"),
        (ED25519, bytes([2]) + bytes(31), "not a point"),
        (ED25519, b"\xff" * 32, "non-canonical"),
        (ED25519, bytes([1]) + bytes(30) + b"\x80", "non-canonical"),  # x = 0 with the sign bit set
        (P256, bytes(64), "33- or 65-byte"),
        (P256, b"\x04" + bytes(64), "invalid P-256 point"),
        (P256, b"\x04" + b"\x01" * 64, "invalid P-256 point"),
        (P256, b"\x05" + bytes(32), "invalid P-256 point"),
        ("rsa", bytes(32), "kind"),
    ],
)
def test_invalid_public_keys(kind, raw, why):
    with pytest.raises(InvalidKey, match=why):
        PublicKey(kind, raw)


def test_public_key_must_be_bytes_and_hex():
    with pytest.raises(InvalidKey):
        PublicKey(ED25519, "00" * 32)
    with pytest.raises(InvalidKey, match="not hex"):
        PublicKey.from_hex(ED25519, "zz" * 32)
    with pytest.raises(InvalidKey):
        PublicKey.from_hex(ED25519, None)


@FAST
@given(st.binary(min_size=32, max_size=32))
def test_random_ed25519_bytes_either_refused_or_usable(raw):
    try:
        key = PublicKey(ED25519, raw)
    except InvalidKey:
        return
    assert key.raw == raw and not key.verify(bytes(64), b"m")


def test_pem_garbage_and_other_algorithms_refused():
    with pytest.raises(InvalidKey):
        PublicKey.from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    rsa_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(InvalidKey, match="only Ed25519"):
        PublicKey.from_pem(rsa_pem)
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(InvalidKey, match="only Ed25519"):
        PublicKey.from_pem(p384.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(InvalidKey):
        SigningKey.from_pem("not a pem")
    p384_private = p384.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(InvalidKey, match="only Ed25519"):
        SigningKey.from_pem(p384_private)


def test_seed_keys_are_deterministic():
    assert SigningKey.from_seed(bytes(32)).public_key == SigningKey.from_seed(bytes(32)).public_key
    assert SigningKey.from_seed(bytes(32)).public_key != SigningKey.from_seed(bytes([1]) * 32).public_key
    with pytest.raises(InvalidKey):
        SigningKey.from_seed(bytes(31))
    with pytest.raises(InvalidKey):
        SigningKey.generate("rsa")


def test_p256_signatures_are_64_bytes_raw():
    assert len(P_KEY.sign(b"m")) == 64
    assert len(ED_KEY.sign(b"m")) == 64
