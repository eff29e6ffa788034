"""OCMF (Open Charge Metering Format) signed meter values: parse, verify, check a session.

    record = parse(text)                       # typed Record, exact integer mWh per reading
    result = verify(text, registered_key_hex)  # VerifyResult(ok, reason, detail); never raises
    check = check_session([begin, end], key)   # check.ok, check.problems, check.energy_mwh

A library of its own, below the apps: it owns the OCMF record format (the typed model and the
parser), the signature check against a meter key, the session rules that decide whether signed
readings may be settled, and the exact energy units (mWh, and Wh with a named rounding). The gateway
(which receives the records) and settlement (which settles by them) both import it; it imports only
the standard library and `cryptography`: no Django, no project module, no I/O, no clock. Failures
are reported as stable codes (`Reason`, `Problem.code`) with an English detail.
See docs/ocmf.md for what is verified and the unit rules.
"""

from .crypto import ALGORITHMS, VerifyResult, check_signature, load_public_key, verify
from .errors import (
    BadJson,
    BadSignature,
    InexactValue,
    InvalidPublicKey,
    KeyMismatch,
    MalformedRecord,
    MalformedSignature,
    OcmfError,
    Reason,
    UnsupportedAlgorithm,
)
from .model import (
    END_CODES,
    LossCompensation,
    MeterStatus,
    Pagination,
    Payload,
    Reading,
    ReadingTime,
    Record,
    Signature,
    TimeSync,
    TransactionCode,
)
from .parser import MAX_RECORD_LENGTH, parse
from .session import NotSettleable, Problem, SessionCheck, check_session
from .units import to_mwh, to_wh

__all__ = [
    "ALGORITHMS", "END_CODES", "MAX_RECORD_LENGTH",
    "BadJson", "BadSignature", "InexactValue", "InvalidPublicKey", "KeyMismatch", "MalformedRecord",
    "MalformedSignature", "NotSettleable", "OcmfError", "Reason", "UnsupportedAlgorithm",
    "LossCompensation", "MeterStatus", "Pagination", "Payload", "Problem", "Reading", "ReadingTime",
    "Record", "SessionCheck", "Signature", "TimeSync", "TransactionCode", "VerifyResult",
    "check_session", "check_signature", "load_public_key", "parse", "to_mwh", "to_wh", "verify",
]  # fmt: skip
