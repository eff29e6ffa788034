"""Public ids of charging sessions: the same on every node, computable before the ledger commits."""

from __future__ import annotations

import uuid

SESSION_NAMESPACE = uuid.UUID("2b6c8f0e-5d1a-5c3e-8f43-0e6a1f7d9c21")


def session_uid(pile_code: str, transaction_id: str, started_at_iso: str) -> uuid.UUID:
    """A session is one OCPP transaction of one pile, started at one instant."""
    return uuid.uuid5(SESSION_NAMESPACE, "/".join([pile_code.upper(), transaction_id, started_at_iso]))
