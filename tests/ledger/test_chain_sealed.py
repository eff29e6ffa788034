"""Sealed sections: readers open them, nobody else does, and no change goes unnoticed."""

import copy
import json
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.chain import sealed
from ledger.chain.encoding import canonical
from ledger.chain.sealed import (
    NotAReader,
    SealedTampered,
    SealError,
    X25519KeyPair,
    commitment,
    open_sealed,
    open_sealed_with_salt,
    seal,
    section_readers,
    verify_commitment,
    x25519_public_from_hex,
    x25519_public_from_private,
)

FAST = settings(max_examples=40, deadline=None, database=None)

KEYS = {name: X25519KeyPair.from_private(bytes([i + 1]) * 32) for i, name in enumerate(["operator", "metro", "grid", "regulator"])}
OUTSIDER = X25519KeyPair.from_private(b"\x99" * 32)

# Text with a canonical encoding: no lone surrogates, no U+0000.
text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=10)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet="abcxyz_", max_size=4), inner, max_size=3),
    max_leaves=10,
)
reader_sets = st.lists(st.sampled_from(sorted(KEYS)), min_size=1, max_size=4, unique=True)


def rng_from(seed: int):
    return random.Random(seed).randbytes


def seal_to(value, names, seed=0):
    return seal(value, {n: KEYS[n].public for n in names}, rng=rng_from(seed))


@FAST
@given(values, reader_sets, st.integers(0, 2**32))
def test_every_reader_opens_and_can_prove_the_content(value, names, seed):
    section = seal_to(value, names, seed)
    assert section_readers(section) == sorted(names)
    for name in names:
        opened, salt = open_sealed_with_salt(section, name, KEYS[name].private)
        assert opened == json.loads(canonical(value))
        assert verify_commitment(section, opened, salt)
        assert verify_commitment(section, opened, salt.hex())
        assert not verify_commitment(section, opened, bytes(32))
        assert not verify_commitment(section, [opened], salt)
    assert open_sealed(section, names[0], KEYS[names[0]].private) == opened


@FAST
@given(values, reader_sets, st.integers(0, 2**32))
def test_non_readers_cannot_open(value, names, seed):
    section = seal_to(value, names, seed)
    for name in set(KEYS) - set(names):
        with pytest.raises(NotAReader):
            open_sealed(section, name, KEYS[name].private)
    # An outsider claiming a reader's name, or a reader using another reader's entry.
    with pytest.raises(NotAReader):
        open_sealed(section, names[0], OUTSIDER.private)
    for name in set(KEYS) - {names[0]}:
        with pytest.raises(NotAReader):
            open_sealed(section, names[0], KEYS[name].private)


def _flip_text(text: str, rnd: random.Random) -> str:
    """Change one character, keeping the field's alphabet (hex stays hex, base64 stays base64)."""
    alphabet = "0123456789abcdef" if all(c in "0123456789abcdef" for c in text) else (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    )
    i = rnd.randrange(len(text.rstrip("=")))
    return text[:i] + rnd.choice([c for c in alphabet if c != text[i]]) + text[i + 1 :]


@FAST
@given(values, reader_sets, st.integers(0, 2**32), st.data())
def test_any_tampering_is_detected(value, names, seed, data):
    section = seal_to(value, names, seed)
    rnd = random.Random(seed)
    field = data.draw(st.sampled_from(["ciphertext", "nonce", "commitment", "wrapped", "epk", "pk"]))
    bad = copy.deepcopy(section)
    victim = data.draw(st.sampled_from(range(len(names))))
    if field in ("wrapped", "epk", "pk"):
        bad["readers"][victim][field] = _flip_text(bad["readers"][victim][field], rnd)
    else:
        bad[field] = _flip_text(bad[field], rnd)
    for entry_index, entry in enumerate(section["readers"]):
        name = entry["id"]
        expected = NotAReader if field == "pk" and entry_index == victim else SealedTampered
        with pytest.raises(expected):
            open_sealed(bad, name, KEYS[name].private)


@FAST
@given(values, st.lists(st.sampled_from(sorted(KEYS)), min_size=2, max_size=4, unique=True), st.integers(0, 2**32))
def test_stripping_a_reader_is_detected(value, names, seed):
    section = seal_to(value, names, seed)
    for drop in range(len(names)):
        bad = copy.deepcopy(section)
        del bad["readers"][drop]
        for entry in bad["readers"]:
            with pytest.raises(SealedTampered):
                open_sealed(bad, entry["id"], KEYS[entry["id"]].private)


def _unwrap_data_key(section, name):
    entry = next(e for e in section["readers"] if e["id"] == name)
    private = X25519PrivateKey.from_private_bytes(KEYS[name].private)
    epk = bytes.fromhex(entry["epk"])
    shared = private.exchange(sealed._load_public(epk))
    kek = sealed._wrap_key(shared, epk, KEYS[name].public, name)
    return AESGCM(kek).decrypt(sealed.WRAP_NONCE, sealed._unb64(entry["wrapped"]), sealed._associated_data(section))


def test_a_reader_cannot_add_a_reader_unnoticed():
    """A reader knows the data key and can wrap it for someone new; the ciphertext then no longer
    opens for anyone, because the reader list is part of its associated data."""
    section = seal_to({"reading": "12.5"}, ["metro", "regulator"])
    data_key = _unwrap_data_key(section, "metro")
    eph = X25519PrivateKey.from_private_bytes(b"\x42" * 32)
    epk = sealed._raw_public(eph.public_key())
    added = copy.deepcopy(section)
    added["readers"].append({"id": "zz-outsider", "pk": OUTSIDER.public.hex(), "epk": epk.hex(), "wrapped": ""})
    kek = sealed._wrap_key(eph.exchange(sealed._load_public(OUTSIDER.public)), epk, OUTSIDER.public, "zz-outsider")
    # The adder can only bind the wrap to the new list; the payload's tag still binds the old one.
    added["readers"][-1]["wrapped"] = sealed._b64(AESGCM(kek).encrypt(sealed.WRAP_NONCE, data_key, sealed._associated_data(added)))
    for name, key in [("metro", KEYS["metro"]), ("regulator", KEYS["regulator"]), ("zz-outsider", OUTSIDER)]:
        with pytest.raises(SealedTampered):
            open_sealed(added, name, key.private)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["readers"].reverse(),  # order is part of the format
        lambda s: s["readers"].append(copy.deepcopy(s["readers"][0])),  # duplicate reader
        lambda s: s["readers"][0].update(id="someone-else"),  # renamed reader
        lambda s: s.update(scheme="pilechain-sealed-v0"),
        lambda s: s.update(extra="x"),
        lambda s: s.pop("commitment"),
        lambda s: s["readers"][0].update(extra="x"),
        lambda s: s.update(ciphertext=s["ciphertext"] + " "),  # non-canonical base64
        lambda s: s.update(ciphertext=""),
        lambda s: s.update(readers=[]),
        lambda s: s.update(nonce=s["nonce"].upper()),
    ],
)
def test_reader_list_and_shape_tampering(change):
    section = seal_to({"a": 1}, ["grid", "metro"])
    bad = copy.deepcopy(section)
    change(bad)
    for name in ("grid", "metro"):
        with pytest.raises(SealError):
            open_sealed(bad, name, KEYS[name].private)


garbage = st.recursive(
    st.none() | st.integers() | st.text(max_size=8) | st.binary(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(sorted(sealed.SECTION_FIELDS | sealed.READER_FIELDS)), inner, max_size=6),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, database=None)
@given(garbage)
def test_garbage_sections_raise_only_seal_errors(section):
    with pytest.raises(SealError):
        open_sealed(section, "metro", KEYS["metro"].private)
    assert verify_commitment(section, {"a": 1}, bytes(32)) is False


def test_sealing_is_deterministic_with_a_seeded_rng_and_random_without():
    assert seal_to({"a": 1}, ["metro"], 5) == seal_to({"a": 1}, ["metro"], 5)
    assert seal_to({"a": 1}, ["metro"], 5) != seal_to({"a": 1}, ["metro"], 6)
    readers = {"metro": KEYS["metro"].public}
    assert seal({"a": 1}, readers) != seal({"a": 1}, readers)


def test_section_is_plain_json_of_strings():
    section = seal_to({"amount": "1.25"}, ["metro", "grid"])
    assert json.loads(json.dumps(section)) == section
    canonical(section)  # may travel inside a signed transaction payload

    def leaves(x):
        if isinstance(x, dict):
            return [v for item in x.values() for v in leaves(item)]
        if isinstance(x, list):
            return [v for item in x for v in leaves(item)]
        return [x]

    assert all(isinstance(v, str) for v in leaves(section))
    assert "1.25" not in json.dumps(section)


def test_commitment_is_sha256_of_plaintext_and_salt():
    section = seal_to({"kwh": "3.000"}, ["metro"])
    _, salt = open_sealed_with_salt(section, "metro", KEYS["metro"].private)
    import hashlib

    assert section["commitment"] == hashlib.sha256(canonical({"kwh": "3.000"}) + salt).hexdigest()
    assert commitment({"kwh": "3.000"}, salt) == section["commitment"]
    assert not verify_commitment(section, {"kwh": "3.000"}, salt[:31])
    assert not verify_commitment(section, {"kwh": 1.5}, salt)  # not encodable: False, no exception
    assert not verify_commitment(section, {"kwh": "3.000"}, "not hex")


def test_seal_refuses_bad_input():
    good = {"metro": KEYS["metro"].public}
    with pytest.raises(SealError):
        seal({"a": 1}, {})
    with pytest.raises(SealError):
        seal({"a": 1.0}, good)
    with pytest.raises(SealError):
        seal({"a": 1}, {"metro": KEYS["metro"].public[:31]})
    with pytest.raises(SealError):
        seal({"a": 1}, {"metro": KEYS["metro"].public.hex()})
    with pytest.raises(SealError):
        seal({"a": 1}, {"": KEYS["metro"].public})
    with pytest.raises(SealError, match="unusable"):
        seal({"a": 1}, {"metro": bytes(32)})  # low-order point: the shared secret would be zero
    with pytest.raises(SealError, match="rng"):
        seal({"a": 1}, good, rng=lambda n: b"short")


def test_open_with_a_malformed_private_key():
    section = seal_to({"a": 1}, ["metro"])
    with pytest.raises(NotAReader):
        open_sealed(section, "metro", b"short")
    assert open_sealed(section, "metro", X25519PrivateKey.from_private_bytes(KEYS["metro"].private)) == {"a": 1}


def test_x25519_helpers():
    pair = X25519KeyPair.generate(rng_from(1))
    assert pair == X25519KeyPair.generate(rng_from(1))
    assert len(pair.private) == len(pair.public) == 32
    assert X25519KeyPair.from_hex(pair.private_hex()) == pair
    assert x25519_public_from_hex(pair.public_hex()) == pair.public
    assert x25519_public_from_private(pair.private) == pair.public
    for bad in ["zz" * 32, "AB" * 32, "ab" * 31, None]:
        with pytest.raises(SealError):
            x25519_public_from_hex(bad)
        with pytest.raises(SealError):
            X25519KeyPair.from_hex(bad)
