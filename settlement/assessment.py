"""Facts about a session and its pile's verification standing, from ledger-owned rows only
(deterministic, for contracts).

Compliance at a session's start follows calibration.selectors.compliance_at (the latest compliance
change filed at or before the current block whose `since` is not after the moment; a compliant pile
past its due date is overdue; no change at all is unverified). The changes are read once per pile
(or once for a whole run of sessions), not once per session.
"""

from __future__ import annotations

import datetime as dt
from core import localtime
from calibration.models import ComplianceChange
from settlement import checks
from settlement.models import ChargingSession


class ComplianceHistory:
    def __init__(self, pile, *, height: int | None):
        rows = ComplianceChange.objects.filter(pile=pile)
        if height is not None:
            rows = rows.filter(height__lte=height)
        self.changes = list(rows.order_by(*ComplianceChange.NEWEST_FIRST).values_list("since", "status", "due_on"))

    @classmethod
    def from_changes(cls, changes: list) -> "ComplianceHistory":
        """From (since, status, due_on) rows already read, newest filing first."""
        history = cls.__new__(cls)
        history.changes = list(changes)
        return history

    def status_at(self, at: dt.datetime) -> str:
        for since, status, due_on in self.changes:
            if since <= at:
                if status == "compliant" and localtime.local_day(at) > due_on:
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
