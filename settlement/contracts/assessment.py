"""Facts about a session, from ledger-owned rows only (deterministic, for contracts).

A pile's compliance at a session's start is calibration's rule (calibration.contracts.compliance:
ComplianceHistory); the changes are read once per pile, or once for a whole run of sessions.
"""

from __future__ import annotations

from settlement import checks
from settlement.models import ChargingSession


def facts(session: ChargingSession) -> checks.SessionFacts:
    return checks.SessionFacts(
        uid=str(session.uid), pile=session.pile.code if session.pile_id else "", connector=session.connector_id,
        started_at=session.started_at, stopped_at=session.stopped_at or session.started_at,
        energy_wh=session.energy_wh, status=session.status, signature_ok=session.signature_ok,
        signed_energy_wh=session.signed_energy_wh,
    )
