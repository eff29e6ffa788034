"""Canonical encoding of everything that is hashed or signed.

Deterministic JSON: keys sorted by their UTF-16 code units is what RFC 8785 asks; we restrict keys
to ASCII, where that order is plain byte order, so `sort_keys` is exact. No insignificant
whitespace, UTF-8, integers only (no floats: amounts travel as decimal strings), bytes never appear
raw (callers hex-encode them). Anything else is refused rather than guessed at, so two nodes can
never encode the same value differently.
"""

from __future__ import annotations

import hashlib
import json
import re
from itertools import accumulate
from typing import Any

MAX_SAFE_INT = 2**63 - 1
# A fixed nesting limit, because the interpreter's recursion limit differs between processes and two
# nodes must never disagree on whether a value is encodable.
MAX_DEPTH = 64
# A value at depth MAX_DEPTH may itself be an array or object: that many containers plus one can be open.
MAX_OPEN_CONTAINERS = MAX_DEPTH + 1
# JSON strings (escapes included) and whatever is not a bracket: removed before counting nesting.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class EncodingError(ValueError):
    """A value that has no canonical encoding."""


def _check(value: Any, path: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise EncodingError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_text(value, path)
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise EncodingError(f"{path}: integer out of range")
        return
    if isinstance(value, float):
        raise EncodingError(f"{path}: floats are not allowed in signed data; use a decimal string")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"{path}: keys must be strings")
            if not key.isascii():
                raise EncodingError(f"{path}: keys must be ASCII")
            _check_text(key, path)
            _check(item, f"{path}.{key}", depth + 1)
        return
    raise EncodingError(f"{path}: {type(value).__name__} has no canonical encoding")


def _check_text(text: str, path: str) -> None:
    # Lone surrogates are valid Python strings but have no UTF-8 encoding.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"{path}: string is not valid Unicode text") from exc
    # PostgreSQL can hold U+0000 neither in text nor in jsonb: a node on PostgreSQL could not even
    # store a block carrying it, while a node on SQLite would apply it.
    if "\x00" in text:
        raise EncodingError(f"{path}: strings must not contain U+0000")


def nesting_depth(text: str) -> int:
    """How many arrays and objects are open at once, at most, in JSON text (brackets inside strings
    do not count; unclosed ones do). Checked before a parser recurses into the text: a recursive
    parser fails at a depth that depends on how much of the interpreter's stack its caller already
    uses, so two nodes could disagree about the same bytes. No recursion here."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def check_nesting(data: bytes | str, limit: int = MAX_OPEN_CONTAINERS) -> None:
    """Refuse JSON text with more than `limit` arrays and objects open at once, before any parser sees
    it (the API's parser for request bodies; `decode` for canonical data)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8", errors="replace")
    if nesting_depth(data) > limit:
        raise EncodingError(f"nested deeper than {limit} levels")


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON-like value."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    """Parse canonical bytes, refusing floats and anything that does not re-encode identically."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EncodingError("canonical data is bytes")
    data = bytes(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EncodingError("not canonical JSON: not UTF-8") from exc
    # A canonical value holds at most MAX_DEPTH levels below the top one (an empty container may
    # sit at the last level): anything deeper is refused before the parser recurses.
    if nesting_depth(text) > MAX_OPEN_CONTAINERS:
        raise EncodingError(f"nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_float=_refuse_float, parse_constant=_refuse_float)
    except EncodingError:
        raise
    except ValueError as exc:
        # ValueError covers JSONDecodeError and the interpreter's limit on integer digits.
        raise EncodingError(f"not canonical JSON: {exc}") from exc
    if canonical(value) != data:
        raise EncodingError("not in canonical form")
    return value


def _refuse_float(text: str):
    raise EncodingError(f"floats are not allowed: {text}")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def digest(value: Any) -> bytes:
    """SHA-256 of the canonical encoding."""
    return sha256(canonical(value))


def hexdigest(value: Any) -> str:
    return digest(value).hex()
