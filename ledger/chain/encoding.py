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
from typing import Any

MAX_SAFE_INT = 2**63 - 1


class EncodingError(ValueError):
    """A value that has no canonical encoding."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise EncodingError(f"{path}: integer out of range")
        return
    if isinstance(value, float):
        raise EncodingError(f"{path}: floats are not allowed in signed data; use a decimal string")
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"{path}: keys must be strings")
            if not key.isascii():
                raise EncodingError(f"{path}: keys must be ASCII")
            _check(item, f"{path}.{key}")
        return
    raise EncodingError(f"{path}: {type(value).__name__} has no canonical encoding")


def canonical(value: Any) -> bytes:
    """The canonical bytes of a JSON-like value."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    """Parse canonical bytes, refusing floats and anything that does not re-encode identically."""
    try:
        value = json.loads(data.decode("utf-8"), parse_float=_refuse_float, parse_constant=_refuse_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
