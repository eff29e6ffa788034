"""The audit: do the ledger-owned tables still hold what the chain says they hold?

The chain commits, through every header's state root, to the MuHash of all ledger-owned rows. The
audit recomputes that digest from the tables themselves, so a row changed behind the ledger's back
(raw SQL, a restored backup, a bug) is found even if no later block touches it. A node that finds
itself diverged stops applying and says so in its status; `manage.py ledger replay` rebuilds it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
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


def audit_tables() -> AuditResult:
    node_state()
    with transaction.atomic():
        # Locking the state row keeps blocks from being applied while the tables are read.
        state = NodeState.objects.select_for_update().get()
        expected = MuHash.from_hex(state.rows_muhash).digest()
        found = tables_digest().digest()
        ok = expected == found
        state.last_audit_at = timezone.now()
        state.last_audit_ok = ok
        fields = ["last_audit_at", "last_audit_ok"]
        if not ok and not state.diverged:
            state.diverged = True
            state.diverged_reason = (
                f"audit at height {state.applied_height}: the ledger-owned tables hash to {found[:16]}, "
                f"the chain says {expected[:16]}"
            )
            fields += ["diverged", "diverged_reason"]
            logger.error("audit failed: %s", state.diverged_reason)
        state.save(update_fields=fields)
    return AuditResult(ok=ok, height=state.applied_height, expected=expected, found=found)
