"""Public ids of charging sessions: the same on every node, computable before the ledger commits."""

from __future__ import annotations

import re
import uuid

# A driver's id tag as the ledger carries it: the operator node's keyed hash (settlement.pseudonyms),
# 64 lower-case hex characters, or empty when the pile named no one. An OCPP id tag is at most 20
# (1.6) or 36 (2.0.1) characters long, so a raw tag can never pass for a pseudonym.
ID_TAG_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def is_id_tag_pseudonym(value) -> bool:
    return isinstance(value, str) and (value == "" or ID_TAG_PSEUDONYM.fullmatch(value) is not None)


SESSION_NAMESPACE = uuid.UUID("2b6c8f0e-5d1a-5c3e-8f43-0e6a1f7d9c21")


def session_uid(pile_code: str, transaction_id: str, started_at_iso: str) -> uuid.UUID:
    """A session is one OCPP transaction of one pile, started at one instant."""
    return uuid.uuid5(SESSION_NAMESPACE, "/".join([pile_code.upper(), transaction_id, started_at_iso]))
