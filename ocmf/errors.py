"""Exception types of the OCMF module.

Every exception carries a stable `reason` code, so that `verify` and the session checks can report
a failure as data (the gateway stores the code with the session) instead of raising.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    OK = "ok"
    MALFORMED = "malformed"  # framing, missing or mistyped fields, values out of the format
    BAD_JSON = "bad_json"  # a section is not a JSON object (or has duplicate keys, NaN, ...)
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"  # SA / SE / SM we cannot or will not check
    INVALID_KEY = "invalid_key"  # the public key given to us cannot be read
    KEY_MISMATCH = "key_mismatch"  # the key is on another curve than SA names
    MALFORMED_SIGNATURE = "malformed_signature"  # SD is not hex/base64, or not a DER ECDSA value
    BAD_SIGNATURE = "bad_signature"  # well-formed, but does not verify over the payload


class OcmfError(ValueError):
    """Base class: the input cannot be used. Subclasses say why."""

    reason = Reason.MALFORMED


class MalformedRecord(OcmfError):
    """The string is not `OCMF|{payload}|{signature}`, or a field has the wrong type or value."""

    reason = Reason.MALFORMED


class BadJson(MalformedRecord):
    """A section is not a valid JSON object."""

    reason = Reason.BAD_JSON


class InexactValue(MalformedRecord):
    """An energy value is not a whole number of milliwatt-hours (or asked for exact Wh and is not)."""


class UnsupportedAlgorithm(OcmfError):
    """SA names an algorithm this module refuses (unknown, or its curve is not in `cryptography`)."""

    reason = Reason.UNSUPPORTED_ALGORITHM


class InvalidPublicKey(OcmfError):
    """The public key is neither a DER SubjectPublicKeyInfo nor a SEC1 point on a supported curve."""

    reason = Reason.INVALID_KEY


class KeyMismatch(OcmfError):
    """The public key's curve is not the curve of the record's signature algorithm."""

    reason = Reason.KEY_MISMATCH


class BadSignature(OcmfError):
    """The signature does not verify over the payload with this key."""

    reason = Reason.BAD_SIGNATURE


class MalformedSignature(BadSignature):
    """SD cannot be decoded (bad hex/base64) or is not a DER-encoded ECDSA signature."""

    reason = Reason.MALFORMED_SIGNATURE
