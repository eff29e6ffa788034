"""The audit: do the ledger-owned tables still hold what the chain says they hold?

The chain commits, through every header's state root, to the MuHash of all ledger-owned rows. The
audit recomputes that digest from the tables themselves, so a row changed behind the ledger's back
(raw SQL, a restored backup, a bug) is found even if no later block touches it. A node that finds
itself diverged stops applying and says so in its status; `manage.py ledger replay` rebuilds it.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from ledger.execution import node_state
from ledger.models import NodeState
from ledger.state.muhash import MuHash
from ledger.state.rows import tables_digest

logger = logging.getLogger("pilechain.ledger")


@dataclass(frozen=True)
class AuditResult:
    ok: bool
    height: int
    expected: str
    found: str


@contextmanager
def _tables_as_of_one_moment():
    """The node's state row and the tables as they stood at one moment.

    On PostgreSQL, outside any other transaction (the beat task, the command), a read-only REPEATABLE
    READ transaction: a snapshot, so blocks go on being applied while the audit reads (at millions of
    rows it takes minutes; holding the state row's lock that long would stall the node). Elsewhere
    (SQLite, or inside a caller's transaction) the state row is locked for the read: SQLite has one
    writer at a time anyway."""
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if snapshot:
            with connection.cursor() as cursor:  # the transaction's first statement, as it must be
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield NodeState.objects.get()
        else:
            yield NodeState.objects.select_for_update().get()


def audit_tables() -> AuditResult:
    node_state()
    with _tables_as_of_one_moment() as state:
        height = state.applied_height
        expected = MuHash.from_hex(state.rows_muhash).digest()
        found = tables_digest().digest()
    ok = expected == found
    with transaction.atomic():
        state = NodeState.objects.select_for_update().get()
        state.last_audit_at = timezone.now()
        state.last_audit_ok = ok
        fields = ["last_audit_at", "last_audit_ok"]
        if not ok and not state.diverged:
            state.diverged = True
            state.diverged_reason = (
                f"audit at height {height}: the ledger-owned tables hash to {found[:16]}, "
                f"the chain says {expected[:16]}"
            )
            fields += ["diverged", "diverged_reason"]
            logger.error("audit failed: %s", state.diverged_reason)
        state.save(update_fields=fields)
    return AuditResult(ok=ok, height=height, expected=expected, found=found)
