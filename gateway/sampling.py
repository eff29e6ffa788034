"""OCPP sampled values to monitoring's samples, the OCMF records among them, and the message
timestamps. Pure: no Django, no I/O; a value a pile should not have sent raises the `ocpp` package's
constraint errors, which the OCPP handlers answer with."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal, InvalidOperation

from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

ENERGY = "Energy.Active.Import.Register"
DEFAULT_UNITS = {"Energy": "Wh", "Power": "W", "Voltage": "V", "Current": "A", "Frequency": "Hz", "Temperature": "Celsius"}
MAX_SIGNED_CHARS = 20000


def decimal_of(value) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise TypeConstraintViolationError(
            description=f"sampled value {str(value)[:40]!r} is not a number", details={"value": str(value)[:40]}
        ) from None
    if not number.is_finite():
        raise TypeConstraintViolationError(description="sampled value is not finite", details={})
    return number


def parse_time(value: str | None, default: dt.datetime) -> dt.datetime:
    if not value:
        return default
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise TypeConstraintViolationError(description=f"{value[:40]!r} is not a date-time", details={}) from None
    if parsed.tzinfo is None:
        raise PropertyConstraintViolationError(description="a timestamp needs a time zone", details={})
    return parsed


def _default_unit(measurand: str) -> str:
    return DEFAULT_UNITS.get(measurand.split(".")[0], "Wh")


def ocmf_text(data: str | None) -> str | None:
    """An OCMF record as sent: plain ("OCMF|...") or base64 of it (2.0.1 signedMeterData)."""
    if not data or len(data) > MAX_SIGNED_CHARS:
        return None
    if data.startswith("OCMF|"):
        return data
    try:
        decoded = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if decoded.startswith("OCMF|") else None


def _sample(ts, measurand, value, unit, phase, context) -> dict:
    return {"timestamp": ts, "measurand": measurand, "value": value, "unit": unit, "phase": phase, "context": context}


def from_v16(meter_value: list[dict], now: dt.datetime) -> tuple[list[dict], list[str]]:
    samples, signed = [], []
    for entry in meter_value or []:
        ts = parse_time(entry.get("timestamp"), now)
        for sv in entry.get("sampled_value") or []:
            if sv.get("format") == "SignedData":
                record = ocmf_text(sv.get("value"))
                if record:
                    signed.append(record)
                continue
            measurand = sv.get("measurand") or ENERGY
            samples.append(_sample(
                ts, measurand, decimal_of(sv.get("value")), sv.get("unit") or _default_unit(measurand),
                sv.get("phase"), sv.get("context"),
            ))
    return samples, signed


def from_v201(meter_value: list[dict], now: dt.datetime) -> tuple[list[dict], list[str]]:
    samples, signed = [], []
    for entry in meter_value or []:
        ts = parse_time(entry.get("timestamp"), now)
        for sv in entry.get("sampled_value") or []:
            smv = sv.get("signed_meter_value")
            if smv:
                record = ocmf_text(smv.get("signed_meter_data"))
                if record:
                    signed.append(record)
            measurand = sv.get("measurand") or ENERGY
            uom = sv.get("unit_of_measure") or {}
            value = decimal_of(sv.get("value"))
            multiplier = uom.get("multiplier") or 0
            if multiplier:
                value = value.scaleb(int(multiplier))
            samples.append(_sample(
                ts, measurand, value, uom.get("unit") or _default_unit(measurand), sv.get("phase"), sv.get("context"),
            ))
    return samples, signed


def energy_wh(samples: list[dict]) -> int | None:
    """The last total energy register reading in whole Wh, if the samples carry one."""
    value = None
    for s in samples:
        if s["measurand"] == ENERGY and not s["phase"]:
            unit = s["unit"]
            if unit == "Wh":
                value = s["value"]
            elif unit == "kWh":
                value = s["value"] * 1000
    return None if value is None else int(Decimal(value).to_integral_value())
