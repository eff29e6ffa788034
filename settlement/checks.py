"""Why a session's energy is held out of settlement and subsidy: pure checks, one reason each.

Each check looks at one session (and, for overlaps, the sessions already accepted on its connector)
and returns a reason code or None. The first reason found, in the order of REASONS, is the one kept,
so every node names the same reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from settlement.tariffs import whole_ms

SIGNATURE_FAILED = "signature_failed"
DISPUTED = "disputed"
NON_COMPLIANT = "non_compliant"
OVERDUE = "overdue"
UNVERIFIED = "unverified"
NEVER_ONLINE = "never_online"
OVERLAPPING = "overlapping"
POWER_ABOVE_RATED = "power_above_rated"
ENERGY_ABOVE_METER = "energy_above_meter"

REASONS = (
    SIGNATURE_FAILED, DISPUTED, NEVER_ONLINE, NON_COMPLIANT, OVERDUE, UNVERIFIED, OVERLAPPING,
    POWER_ABOVE_RATED, ENERGY_ABOVE_METER,
)

DESCRIPTIONS = {
    SIGNATURE_FAILED: "the meter's signature on the session does not verify",
    DISPUTED: "the session's own readings contradict each other",
    NON_COMPLIANT: "the pile had failed its verification at the time",
    OVERDUE: "the pile was overdue for verification at the time",
    UNVERIFIED: "the pile had no verification on the ledger at the time",
    NEVER_ONLINE: "the pile was never online in the period",
    OVERLAPPING: "the session overlaps another session on the same connector",
    POWER_ABOVE_RATED: "the mean power exceeds the pile's rated power",
    ENERGY_ABOVE_METER: "the energy recorded exceeds what the signed meter values show",
}


@dataclass(frozen=True)
class SessionFacts:
    uid: str
    pile: str
    connector: int
    started_at: dt.datetime
    stopped_at: dt.datetime
    energy_wh: int | None
    status: str  # ChargingSession.status
    signature_ok: bool | None
    signed_energy_wh: int | None


def signature(s: SessionFacts) -> str | None:
    return SIGNATURE_FAILED if s.signature_ok is False or s.status == "signature_failed" else None


def disputed(s: SessionFacts) -> str | None:
    return DISPUTED if s.status == "disputed" or s.energy_wh is None or s.stopped_at < s.started_at else None


def compliance(status: str) -> str | None:
    """calibration's compliance status at the session's start -> reason (compliant: none)."""
    return {"non_compliant": NON_COMPLIANT, "overdue": OVERDUE, "unverified": UNVERIFIED}.get(status)


def overlapping(s: SessionFacts, accepted: list[tuple[dt.datetime, dt.datetime]]) -> str | None:
    """`accepted`: (start, stop) of sessions already counted on the same connector. Touching is fine."""
    for start, stop in accepted:
        if s.started_at < stop and start < s.stopped_at:
            return OVERLAPPING
    return None


def power_above_rated(s: SessionFacts, rated_kw: Decimal) -> str | None:
    """Mean power = energy / duration; above the rated power is physically impossible. Compared exactly:
    energy_wh * 3600 > rated_w * seconds (milliseconds kept as a fraction)."""
    if not s.energy_wh:
        return None
    millis = whole_ms(s.stopped_at - s.started_at)
    if millis <= 0:
        return POWER_ABOVE_RATED
    return POWER_ABOVE_RATED if Decimal(s.energy_wh) * 3_600_000 > rated_kw * 1000 * millis else None


def energy_above_meter(s: SessionFacts) -> str | None:
    """Recorded energy above the energy the meter itself signed for the session."""
    if s.signed_energy_wh is None or s.energy_wh is None:
        return None
    return ENERGY_ABOVE_METER if s.energy_wh > s.signed_energy_wh else None


def assess(s: SessionFacts, *, rated_kw: Decimal, compliance_status: str, online: bool,
           accepted: list[tuple[dt.datetime, dt.datetime]]) -> str | None:
    """The first reason to hold the session, or None when it counts."""
    for reason in (
        signature(s), disputed(s), None if online else NEVER_ONLINE, compliance(compliance_status),
        overlapping(s, accepted), power_above_rated(s, rated_kw), energy_above_meter(s),
    ):
        if reason:
            return reason
    return None
