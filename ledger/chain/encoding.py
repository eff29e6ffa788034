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
from typing import Any

MAX_SAFE_INT = 2**63 - 1
# A fixed nesting limit, because the interpreter's recursion limit differs between processes and two
# nodes must never disagree on whether a value is encodable.
MAX_DEPTH = 64
# A value at depth MAX_DEPTH may itself be an array or object: that many containers plus one can be open.
MAX_OPEN_CONTAINERS = MAX_DEPTH + 1

# JSON strings (whose brackets are text, not structure) and every byte that is not a bracket.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_OPENING = frozenset(b"[{")


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
            _check(item, f"{path}.{key}", depth + 1)
        return
    raise EncodingError(f"{path}: {type(value).__name__} has no canonical encoding")


def _check_text(text: str, path: str) -> None:
    # Lone surrogates are valid Python strings but have no UTF-8 encoding.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(f"{path}: string is not valid Unicode text") from exc


def check_nesting(data: bytes, limit: int = MAX_OPEN_CONTAINERS) -> None:
    """Refuse JSON text with more than `limit` arrays and objects open at once, before any parser sees it.

    Python's json parser recurses once per level, so a document a few thousand brackets deep ends in a
    RecursionError (or, in a deep enough stack, worse) instead of an answer. This reads the bytes without
    recursing and counts as the parser would, so unbalanced or truncated text is measured too.
    """
    brackets = _JSON_STRING.sub(b"", bytes(data)).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return
    depth = 0
    for byte in brackets:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                raise EncodingError(f"nested deeper than {limit} levels")
        else:
            depth -= 1


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON-like value."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    """Parse canonical bytes, refusing floats and anything that does not re-encode identically."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise EncodingError("canonical data is bytes")
    data = bytes(data)
    check_nesting(data)
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_refuse_float, parse_constant=_refuse_float)
    except EncodingError:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
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
