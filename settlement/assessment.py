"""Which of a pile's sessions count, read from ledger-owned rows only (deterministic, for contracts).

Compliance at a session's start follows calibration.selectors.compliance_at (the latest compliance
change filed at or before the current block whose `since` is not after the moment; a compliant pile
past its due date is overdue; no change at all is unverified). The changes are loaded once per pile
instead of one query per session, so a month of sessions costs one query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings

from calibration.contracts_requests import china_day
from calibration.models import ComplianceChange
from settlement import checks
from settlement.models import ChargingSession, SessionStatus
from settlement.tariffs import period_bounds, split_energy


def local_tz() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "PILECHAIN_LOCAL_TZ", None) or settings.TIME_ZONE)


class ComplianceHistory:
    def __init__(self, pile, *, height: int | None):
        rows = ComplianceChange.objects.filter(pile=pile)
        if height is not None:
            rows = rows.filter(height__lte=height)
        self.changes = list(rows.order_by("-height").values_list("since", "status", "due_on"))

    @classmethod
    def from_changes(cls, changes: list) -> "ComplianceHistory":
        """From (since, status, due_on) rows already read, newest filing first."""
        history = cls.__new__(cls)
        history.changes = list(changes)
        return history

    def status_at(self, at: dt.datetime) -> str:
        for since, status, due_on in self.changes:
            if since <= at:
                if status == "compliant" and china_day(at) > due_on:
                    return "overdue"
                return status
        return "unverified"


def facts(session: ChargingSession) -> checks.SessionFacts:
    return checks.SessionFacts(
        uid=str(session.uid), pile=session.pile.code if session.pile_id else "", connector=session.connector_id,
        started_at=session.started_at, stopped_at=session.stopped_at or session.started_at,
        energy_wh=session.energy_wh, status=session.status, signature_ok=session.signature_ok,
        signed_energy_wh=session.signed_energy_wh,
    )


@dataclass
class PileAssessment:
    sessions: int = 0
    energy_wh: int = 0
    excluded: list = field(default_factory=list)  # (session uid, reason, Wh in the period)

    @property
    def excluded_wh(self) -> int:
        return sum(wh for _, _, wh in self.excluded)


def assess_pile_period(pile, period: str, *, height: int | None, online: bool = True) -> PileAssessment:
    """Every closed session of the pile that has energy in the period, in start order; the first of two
    overlapping sessions on a connector stands. Energy is the share inside the period (split rule)."""
    tz = local_tz()
    start, end = period_bounds(period, tz)
    history = ComplianceHistory(pile, height=height)
    sessions = (
        ChargingSession.objects.filter(pile=pile, started_at__lt=end, stopped_at__gt=start)
        .exclude(status=SessionStatus.OPEN).order_by("started_at", "uid")
    )
    if height is not None:
        sessions = sessions.filter(closed_height__lte=height)
    accepted: dict[int, list] = {}
    result = PileAssessment()
    for session in sessions.iterator(chunk_size=2000):
        session.pile = pile
        f = facts(session)
        wh = in_period(f, period, tz)
        if wh == 0 and f.energy_wh:
            continue
        reason = checks.assess(
            f, rated_kw=pile.rated_power_kw, compliance_status=history.status_at(f.started_at), online=online,
            accepted=accepted.get(f.connector, []),
        )
        if reason:
            result.excluded.append((f.uid, reason, wh))
        else:
            accepted.setdefault(f.connector, []).append((f.started_at, f.stopped_at))
            result.sessions += 1
            result.energy_wh += wh
    return result


def in_period(f: checks.SessionFacts, period: str, tz: ZoneInfo) -> int:
    """The session's Wh that fall in the period (no readings: in proportion to time)."""
    if not f.energy_wh:
        return 0
    start, end = period_bounds(period, tz)
    if start <= f.started_at and f.stopped_at <= end:
        return f.energy_wh
    split = split_energy(start=f.started_at, stop=f.stopped_at, energy_wh=f.energy_wh, tariffs=[], tz=tz)
    return sum(wh for (p, _), wh in split.items() if p == period)
