"""Canonical encoding: one byte string per value, and nothing else accepted."""

import json
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger.chain.encoding import (
    MAX_DEPTH,
    MAX_OPEN_CONTAINERS,
    MAX_SAFE_INT,
    EncodingError,
    canonical,
    check_nesting,
    decode,
    digest,
    hexdigest,
    nesting_depth,
    sha256,
)
from tests.utils.stack import at_stack_depth

FAST = settings(max_examples=200, deadline=None, database=None)

# No lone surrogates (no UTF-8) and no U+0000 (PostgreSQL cannot store it): both are refused.
text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
keys = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=6)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT) | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def _shuffled(value, rnd):
    """The same value with every dict built in another insertion order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


def _with_float(value, rnd):
    """Put a float somewhere inside the value."""
    if isinstance(value, dict) and value and rnd.random() < 0.7:
        k = rnd.choice(list(value))
        return {**value, k: _with_float(value[k], rnd)}
    if isinstance(value, list) and value and rnd.random() < 0.7:
        i = rnd.randrange(len(value))
        return value[:i] + [_with_float(value[i], rnd)] + value[i + 1 :]
    return [value, 1.5]


@FAST
@given(values)
def test_round_trip(value):
    assert decode(canonical(value)) == value


@FAST
@given(values, st.integers(0, 2**32))
def test_key_order_does_not_matter(value, seed):
    assert canonical(_shuffled(value, random.Random(seed))) == canonical(value)


@FAST
@given(values)
def test_deterministic_and_compact(value):
    data = canonical(value)
    assert data == canonical(json.loads(data))
    assert digest(value) == sha256(data)
    assert hexdigest(value) == digest(value).hex()
    # Compact and sorted, as any JSON implementation configured the same way would produce.
    assert data == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@FAST
@given(values, st.integers(0, 2**32))
def test_floats_refused_anywhere(value, seed):
    with pytest.raises(EncodingError):
        canonical(_with_float(value, random.Random(seed)))


@FAST
@given(st.dictionaries(keys, scalars, min_size=2, max_size=5))
def test_reordered_keys_refused_on_decode(value):
    data = canonical(value)
    reordered = json.dumps(dict(reversed(list(value.items()))), separators=(",", ":"), ensure_ascii=False).encode()
    assume(reordered != data)
    with pytest.raises(EncodingError):
        decode(reordered)


@FAST
@given(values)
def test_whitespace_refused_on_decode(value):
    spaced = json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False).encode() + b"\n"
    with pytest.raises(EncodingError):
        decode(spaced)


@FAST
@given(st.binary(max_size=40))
def test_decode_garbage_raises_only_encoding_error(data):
    try:
        value = decode(data)
    except EncodingError:
        return
    assert canonical(value) == data


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":2}',  # duplicate key
        b'"\\u00e9"',  # escaped where the canonical form is raw UTF-8
        b"1.0",
        b"1e3",
        b"NaN",
        b"-0",
        b"01",
        b'"a"\n',
        b"1" * 5000,  # more digits than Python will parse
        b"[" * 10000 + b"]" * 10000,
        b"\xff",
        b'{"\xc3\xa9":1}',  # non-ASCII key
        b'"a\\u0000b"',  # U+0000, as the canonical form would write it
        b'{"\\u0000":1}',
        str(MAX_SAFE_INT + 1).encode(),
    ],
)
def test_non_canonical_input_refused(data):
    with pytest.raises(EncodingError):
        decode(data)


def test_decode_refuses_text():
    with pytest.raises(EncodingError):
        decode("[]")


@pytest.mark.parametrize(
    "value",
    [
        1.0,
        float("nan"),
        MAX_SAFE_INT + 1,
        -MAX_SAFE_INT - 1,
        b"raw bytes",
        {1: "int key"},
        {"clé": 1},
        "\ud800",  # lone surrogate
        {"\ud800": 1},
        "a\x00b",  # U+0000: PostgreSQL stores it neither in text nor in jsonb
        {"a\x00": 1},
        ["\x00"],
        {1, 2},
        object(),
    ],
)
def test_unencodable_values_refused(value):
    with pytest.raises(EncodingError):
        canonical(value)


def test_nesting_limit_is_fixed():
    deep = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert decode(canonical(deep)) == deep
    with pytest.raises(EncodingError):
        canonical([deep])


def test_the_nesting_check_agrees_with_the_encoder():
    """What canonical() takes passes check_nesting; one level more does not."""
    deepest = []
    for level in range(MAX_DEPTH):
        deepest = {"k": deepest} if level % 2 else [deepest]
    check_nesting(canonical(deepest))
    with pytest.raises(EncodingError):
        canonical([deepest])
    with pytest.raises(EncodingError, match=f"deeper than {MAX_OPEN_CONTAINERS} levels"):
        check_nesting(json.dumps([deepest]).encode())


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000 + b"]" * 100_000,  # json.loads would raise RecursionError
        b"[" * 100_000,  # truncated: the parser recurses before it finds the end
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        b"[1,[2,{\"x\":" * 40 + b"0" + b"}]]" * 40,  # interleaved with values and closers
    ],
)
def test_too_deep_text_is_refused_without_parsing(data):
    with pytest.raises(EncodingError, match="deeper than"):
        check_nesting(data)


@pytest.mark.parametrize(
    "value",
    [
        ["[" * 1_000, "{" * 1_000],  # brackets inside strings are text
        {"quote\"[[[": "\\", "k": ["]]]{{{"]},  # escaped quotes and backslashes do not end a string early
        [[]] * 50_000,  # many containers, never deep
    ],
)
def test_brackets_that_do_not_nest_pass(value):
    check_nesting(json.dumps(value).encode())


def _decoded(data: bytes) -> str:
    try:
        decode(data)
    except EncodingError as exc:
        return f"refused: {exc}"
    return "decoded"


def test_decode_depth_limit_does_not_depend_on_the_callers_stack():
    """Whether bytes decode must not depend on how deep in the stack the decoder runs: a recursive
    parser fails at a depth set by the caller's stack, so the limit is checked before it recurses."""
    deeper = b"[" * 300 + b"]" * 300  # well within a fresh stack, beyond the fixed limit
    at_limit = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert _decoded(at_limit) == "decoded"
    assert _decoded(deeper) == f"refused: nested deeper than {MAX_DEPTH} levels"
    for data in (deeper, at_limit):
        assert at_stack_depth(200, lambda: _decoded(data)) == _decoded(data)


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ("[[]]", 2), ('["[[[", {"a": "]]}"}]', 2), ('{"a": [{"b": [1]}], "c": []}', 4),
    ('"[[[[\\"[["', 0), ("[" * 1000, 1000), ("[[]" * 3, 4),
])
def test_nesting_is_counted_outside_strings(text, depth):
    assert nesting_depth(text) == depth


def test_known_bytes():
    # Pinned so that an accidental change of the format shows up here, not as a forked chain.
    value = {"b": [1, True, None], "a": "é\n", "A": -5}
    assert canonical(value) == '{"A":-5,"a":"é\\n","b":[1,true,null]}'.encode()
    assert canonical((1, 2)) == b"[1,2]"
