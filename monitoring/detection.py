"""Fault detection rules (pure): from what a pile reported to the faults worth a ledger report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

FAULTED = "Faulted"
NO_ERROR = ("", "NoError")

# OCPP 1.6 ChargePointErrorCode -> severity. Codes hinting at danger to people or equipment are
# critical; the rest of what stops charging is major; warnings that leave the pile usable are minor.
CRITICAL_CODES = {"GroundFailure", "HighTemperature", "OverCurrentFailure", "OverVoltage", "PowerSwitchFailure"}
MINOR_CODES = {"WeakSignal", "ReaderFailure", "LocalListConflict"}
# Codes that question the meter itself: the fault also asks a metrology institute to verify it.
METERING_CODES = {"PowerMeterFailure"}


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    error_code: str = ""
    detail: str = ""
    metering: bool = False


def status_finding(status: str, error_code: str, info: str = "") -> Finding | None:
    code = error_code or ""
    if status != FAULTED and code in NO_ERROR:
        return None
    if code in CRITICAL_CODES:
        severity = "critical"
    elif code in MINOR_CODES or (status != FAULTED and code not in METERING_CODES):
        severity = "minor"
    else:
        severity = "major"
    detail = f"{status}/{code or 'NoError'}" + (f": {info}" if info else "")
    return Finding("status", severity, code, detail[:500], code in METERING_CODES)


def status_is_normal(status: str, error_code: str) -> bool:
    return status != FAULTED and (error_code or "") in NO_ERROR


def energy_finding(previous_wh: Decimal | None, current_wh: Decimal) -> Finding | None:
    """A cumulative import register never decreases; if it does, the meter is suspect."""
    if previous_wh is None or current_wh >= previous_wh:
        return None
    return Finding(
        "energy_backwards", "major", "",
        f"energy register went from {previous_wh.normalize():f} Wh to {current_wh.normalize():f} Wh", True,
    )


def power_finding(power_w: Decimal, rated_kw: Decimal, tolerance: Decimal) -> Finding | None:
    """Power above the rated power (with a tolerance for meter accuracy and transients)."""
    limit_w = rated_kw * 1000 * (1 + tolerance)
    if power_w <= limit_w:
        return None
    return Finding(
        "over_power", "major", "",
        f"power {power_w.normalize():f} W above rated {rated_kw.normalize():f} kW", True,
    )


def is_silent(last_seen: dt.datetime, now: dt.datetime, heartbeat_s: int, missed: int) -> bool:
    return now - last_seen > dt.timedelta(seconds=heartbeat_s * missed)


def silent_finding(last_seen: dt.datetime, heartbeat_s: int, missed: int) -> Finding:
    return Finding("silent", "major", "", f"no message since {last_seen.isoformat()} ({missed} heartbeats of {heartbeat_s} s missed)")
