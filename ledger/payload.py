"""Payload values and the rejection they end in: what the contracts registry (ledger.contracts), the
runs (ledger.runs) and the checks of stored rows (ledger.state.rows) all need, kept below them.
Contracts import these from ledger.contracts, which re-exports them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal


class ContractRejected(Exception):
    """The transaction is committed, but as rejected: its effects are rolled back, its reason kept."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- payload values --------------------------------------------------------------------------------
# Every node must refuse the same values whatever its database, before anything is written: a value
# that one backend stores and another refuses (or stores differently) would split the chain.

# A decimal column on SQLite is a 64-bit float: 15 significant digits survive the round trip.
MAX_DECIMAL_DIGITS = 15
# A plain decimal in ASCII: Decimal() would also take spaces, underscores, exponents, NaN and other
# scripts' digits (which ones depends on the interpreter's Unicode tables).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")
# C0 and C1 control characters and DEL; multi-line text keeps tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class InvalidInput(ContractRejected):
    """A payload value refused before anything is written. `code` says why, in a stable word
    (control_character, not_a_number, out_of_range, too_many_decimals, too_many_digits); the reason
    is "<field> <message>"."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(f"{field} {message}")
        self.field, self.code, self.message = field, code, message


def plain_text(value: str, field: str, *, multiline: bool = False) -> str:
    """`value` if it holds no control character (multi-line text may hold tabs and line breaks).
    U+0000 cannot reach a contract (the canonical encoding refuses it); the others are refused here
    for every text a contract stores, so that what a column holds is the same kind of text on every
    node and on every page that shows it."""
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        raise InvalidInput(field, "control_character", "must not contain control characters")
    return value


def decimal_value(value, field: str, *, low: Decimal | None = None, high: Decimal | None = None,
                  places: int | None = None, integers: bool = False) -> Decimal:
    """A number from a payload: a plain decimal string (or, with `integers`, a JSON integer),
    between `low` and `high`, with at most `places` decimals and MAX_DECIMAL_DIGITS significant
    digits. Checked on the text, before any Decimal arithmetic, so that NaN, infinities and
    exponents never reach a comparison (Decimal("NaN") < 1 raises)."""
    if integers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _PLAIN_DECIMAL.fullmatch(value):
        raise InvalidInput(field, "not_a_number", 'must be a decimal number written as a string, like "12.5"')
    whole, _, fraction = value.lstrip("-").partition(".")
    fraction = fraction.rstrip("0")
    if places is not None and len(fraction) > places:
        raise InvalidInput(field, "too_many_decimals", f"must have at most {places} decimals")
    if len((whole + fraction).lstrip("0")) > MAX_DECIMAL_DIGITS:
        raise InvalidInput(field, "too_many_digits", f"must have at most {MAX_DECIMAL_DIGITS} significant digits")
    number = Decimal(value)
    if number.is_zero():
        # "-0" is a value of its own to Decimal (and in a state entry); no database keeps it.
        number = abs(number)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise InvalidInput(field, "out_of_range", f"must be {bounds}")
    return number


def aware_time(ctx, value, name: str) -> dt.datetime:
    """A payload's ISO 8601 time with its zone, in UTC; the transaction is rejected otherwise."""
    if not isinstance(value, str):
        ctx.reject(f"{name} must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        ctx.reject(f"{name} must be an ISO 8601 time")
    if parsed.tzinfo is None:
        ctx.reject(f"{name} must carry a time zone")
    return parsed.astimezone(dt.timezone.utc)
