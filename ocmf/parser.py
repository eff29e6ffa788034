"""Parsing `OCMF|{payload}|{signature}` into the typed model.

The signed data is the payload section's bytes exactly as they stand between the two pipes: the
specification forbids re-serialising it, and a JSON parser would lose the number formatting.
JSON numbers are read as int / Decimal (never float); duplicate keys, NaN and Infinity are refused
because two parsers could read such a payload differently from what the meter meant.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from itertools import accumulate
from types import MappingProxyType
from typing import Any

from .errors import BadJson, MalformedRecord
from .model import (
    DEFAULT_ALGORITHM,
    ERROR_FLAGS,
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
from .units import to_mwh

# A transaction with a tariff change every 15 minutes for two days is ~20 KB; far larger input is
# refused before JSON parsing so that a hostile pile cannot make the gateway chew on megabytes.
MAX_RECORD_LENGTH = 256 * 1024
# How many arrays and objects may be open at once in a section (the ledger's limit for signed data
# too). How deep the recursive JSON parser gets before a RecursionError depends on the caller's
# stack, and the verdict on a record must not, so the depth is counted first, without recursion.
MAX_DEPTH = 64

_KNOWN_PAYLOAD = {
    "FV", "GI", "GS", "GV", "PG", "MV", "MM", "MS", "MF", "IS", "IL", "IF", "IT", "ID", "TT",
    "CCV", "LC", "CT", "CI", "RD",
}  # fmt: skip
_KNOWN_READING = {"TM", "TX", "RV", "RI", "RU", "RT", "CL", "EF", "ST"}
# Omitted reading fields take the previous reading's value (spec: "fields that have an identical
# value to the previous reading are omitted"). RV and CL are per reading and never inherited.
_INHERITED = ("TM", "TX", "RI", "RU", "RT", "EF", "ST")

_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})([,.])([0-9]{3})"
    r"([+-])([0-9]{2})(:?)([0-9]{2}) ([A-Z])"
)
_PAGINATION = re.compile(r"([TF])([0-9]{1,18})")  # bounded: the counter becomes an int
# ASCII digits only: Python's \d and Decimal() would also take other scripts' digits.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# For counting nesting: JSON strings (their brackets do not count), then everything but brackets.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def split(text: str | bytes) -> tuple[bytes, dict[str, Any], Signature]:
    """Frame check only: the signed payload bytes, the payload as JSON, and the signature section."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedRecord("record is not UTF-8") from exc
    if not isinstance(text, str):
        raise MalformedRecord(f"record must be str or bytes, not {type(text).__name__}")
    if len(text) > MAX_RECORD_LENGTH:
        raise MalformedRecord(f"record longer than {MAX_RECORD_LENGTH} characters")
    # Whitespace around the whole record is transport noise (XML files indent it); it is not signed.
    parts = text.strip().split("|")
    if parts[0] != "OCMF":
        raise MalformedRecord("record does not start with the header 'OCMF|'")
    if len(parts) != 3:
        raise MalformedRecord(f"expected 3 sections separated by '|', found {len(parts)}")
    try:
        signed = parts[1].encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedRecord("payload is not encodable as UTF-8") from exc
    payload = _load_object(parts[1], "payload")
    return signed, payload, _signature(_load_object(parts[2], "signature"))


def parse(text: str | bytes) -> Record:
    """Parse and validate a whole record. Raises MalformedRecord (or a subclass) on any defect."""
    signed, obj, signature = split(text)
    deviations: list[str] = []
    return Record(_payload(obj, deviations), signature, signed, tuple(deviations))


def _nesting_depth(text: str) -> int:
    """The most arrays and objects open at once in JSON text; unclosed ones count."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(_BRACKET_STEP[b] for b in brackets), default=0)


def _load_object(section: str, name: str) -> dict[str, Any]:
    # Counting every bracket over-counts (brackets inside strings too): at most MAX_DEPTH of them
    # cannot nest deeper, and most records have a handful.
    if section.count("{") + section.count("[") > MAX_DEPTH and _nesting_depth(section) > MAX_DEPTH:
        raise BadJson(f"{name} section is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            section,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except ValueError as exc:
        raise BadJson(f"{name} section is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadJson(f"{name} section is not a JSON object")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _signature(obj: dict[str, Any]) -> Signature:
    def text(key: str, default: str | None) -> str:
        value = obj.get(key, default)
        if not isinstance(value, str):
            raise MalformedRecord(f"signature field {key} is missing or not a string")
        return value

    extra = {k: v for k, v in obj.items() if k not in ("SA", "SE", "SM", "SD")}
    return Signature(
        algorithm=text("SA", DEFAULT_ALGORITHM),
        encoding=text("SE", "hex"),
        mime_type=text("SM", "application/x-der"),
        data=text("SD", None),
        extra=MappingProxyType(extra),
    )


def _string(obj: dict[str, Any], key: str, deviations: list[str], where: str = "") -> str | None:
    value = obj.get(key)
    if value is None and key not in obj:
        return None
    if isinstance(value, str):
        return value
    # Some meters write FV or CT as a JSON number; the text of the number is what they meant.
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        deviations.append(f"{where}{key} is a number, not a string")
        return str(value)
    raise MalformedRecord(f"{where}{key} must be a string")


def _number(value: Any, key: str, deviations: list[str], where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise MalformedRecord(f"{where}{key} must be a number")
    if isinstance(value, str):
        # Seen in the wild ("RV": "       9.038"). A plain decimal in a string is unambiguous.
        if not _PLAIN_DECIMAL.fullmatch(value.strip()):
            raise MalformedRecord(f"{where}{key} is not a number: {value!r}")
        deviations.append(f"{where}{key} is a string, not a number")
        value = value.strip()
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the regex and JSON grammar exclude it
        raise MalformedRecord(f"{where}{key} is not a number") from exc


def _payload(obj: dict[str, Any], deviations: list[str]) -> Payload:
    s = lambda key: _string(obj, key, deviations)  # noqa: E731
    pagination = s("PG")
    match = _PAGINATION.fullmatch(pagination or "")
    if not match:
        raise MalformedRecord(f"PG must be T<n> or F<n>, got {pagination!r}")
    if not (s("GS") or s("MS")):
        raise MalformedRecord("neither a gateway serial (GS) nor a meter serial (MS) is given")
    status = obj.get("IS")
    if status is not None and not isinstance(status, bool):
        raise MalformedRecord("IS must be true or false")
    flags = obj.get("IF", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise MalformedRecord("IF must be an array of strings")
    readings = obj.get("RD")
    if not isinstance(readings, list) or not readings:
        raise MalformedRecord("RD must be a non-empty array of readings")
    extra = {k: v for k, v in obj.items() if k not in _KNOWN_PAYLOAD}
    return Payload(
        format_version=s("FV"),
        gateway_id=s("GI"),
        gateway_serial=s("GS"),
        gateway_version=s("GV"),
        pagination=Pagination(match.group(1), int(match.group(2))),
        meter_vendor=s("MV"),
        meter_model=s("MM"),
        meter_serial=s("MS"),
        meter_firmware=s("MF"),
        identification_status=status,
        identification_level=s("IL"),
        identification_flags=tuple(flags),
        identification_type=s("IT"),
        identification_data=s("ID"),
        tariff_text=s("TT"),
        charge_controller_version=s("CCV"),
        loss_compensation=_loss_compensation(obj.get("LC"), deviations),
        charge_point_id_type=s("CT"),
        charge_point_id=s("CI"),
        readings=_readings(readings, deviations),
        extra=MappingProxyType(extra),
    )


def _loss_compensation(obj: Any, deviations: list[str]) -> LossCompensation | None:
    if obj is None:
        return None
    if not isinstance(obj, dict) or "LR" not in obj or "LU" not in obj:
        raise MalformedRecord("LC must be an object with LR and LU")
    where = "LC."
    return LossCompensation(
        name=_string(obj, "LN", deviations, where),
        identification=_number(obj["LI"], "LI", deviations, where) if "LI" in obj else None,
        resistance=_number(obj["LR"], "LR", deviations, where),
        unit=_string(obj, "LU", deviations, where) or "",
    )


def _readings(items: list[Any], deviations: list[str]) -> tuple[Reading, ...]:
    result = []
    previous: dict[str, Any] = {}
    for index, item in enumerate(items):
        where = f"RD[{index}]."
        if not isinstance(item, dict):
            raise MalformedRecord(f"RD[{index}] is not an object")
        merged = {k: previous[k] for k in _INHERITED if k in previous} | item
        previous = merged
        result.append(_reading(merged, deviations, where))
    return tuple(result)


def _reading(obj: dict[str, Any], deviations: list[str], where: str) -> Reading:
    s = lambda key: _string(obj, key, deviations, where)  # noqa: E731
    time_text = s("TM")
    if time_text is None:
        raise MalformedRecord(f"{where}TM is missing")
    tx = s("TX")
    if tx is not None and tx not in TransactionCode._value2member_map_:
        raise MalformedRecord(f"{where}TX {tx!r} is not a known reading reason")
    st = s("ST")
    if st not in MeterStatus._value2member_map_:
        raise MalformedRecord(f"{where}ST {st!r} is missing or not a known meter status")
    flags = s("EF") or ""
    if set(flags) - ERROR_FLAGS.keys():
        raise MalformedRecord(f"{where}EF {flags!r} has unknown error flags")
    value = _number(obj["RV"], "RV", deviations, where) if "RV" in obj else None
    unit = s("RU")
    if value is not None and not unit:
        raise MalformedRecord(f"{where}RV without a unit (RU)")
    try:
        mwh = to_mwh(value, unit) if value is not None and unit else None
    except MalformedRecord as exc:
        raise type(exc)(f"{where}{exc}") from exc
    return Reading(
        time=_time(time_text, deviations, where),
        transaction=TransactionCode(tx) if tx is not None else None,
        value=value,
        obis=s("RI"),
        unit=unit,
        current_type=s("RT"),
        cumulated_loss=_number(obj["CL"], "CL", deviations, where) if "CL" in obj else None,
        error_flags=flags,
        status=MeterStatus(st),
        mwh=mwh,
        extra=MappingProxyType({k: v for k, v in obj.items() if k not in _KNOWN_READING}),
    )


def _time(text: str, deviations: list[str], where: str) -> ReadingTime:
    # Accepted leniently, and noted: '.' for the ',' before milliseconds and "+01:00" for "+0100"
    # (both seen from real meters). Anything else is refused: the customer is shown this time.
    match = _TIME.fullmatch(text)
    if not match or match.group(13) not in TimeSync._value2member_map_:
        raise MalformedRecord(f"{where}TM {text!r} is not '<YYYY-MM-DDThh:mm:ss,fff+zzzz> <U|I|S|R>'")
    if match.group(7) == "." or match.group(11) == ":":
        deviations.append(f"{where}TM is not in the exact OCMF time format")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(12)))
    try:
        zone = timezone(-offset if match.group(9) == "-" else offset)
        at = datetime(year, month, day, hour, minute, second, int(match.group(8)) * 1000, tzinfo=zone)
    except ValueError as exc:
        raise MalformedRecord(f"{where}TM {text!r}: {exc}") from exc
    return ReadingTime(at, TimeSync(match.group(13)), text)
