"""calibration.request_open: a member asks the metrology institutes to verify a pile.

Reasons this contract accepts: due_soon and overdue (checked against the pile's due date and the block
time, so any node's periodic task may raise them) and requested (a pile's operator for its own piles,
the regulator or a metrology institute for any). Metering faults come from monitoring's own contract,
which calls calibration.contracts.request_rows.open_request directly.
"""

from __future__ import annotations

import datetime as dt

from calibration.models import PileCompliance
from calibration.contracts.request_rows import open_request
from core import localtime
from ledger.contracts import NODE, register
from registry.models import Pile

OPEN = "calibration.request_open"
DUE_SOON_DAYS = 30
@register(OPEN, signer_kinds=(NODE,), roles={"operator", "metrology", "regulator"})
def request_open(ctx, tx):
    """Open (or count on) a verification request for a pile."""
    p = tx.payload
    if not isinstance(p, dict) or set(p) - {"pile", "reason", "reference"} or "pile" not in p or "reason" not in p:
        ctx.reject("a request names pile and reason (and optionally a reference)")
    pile = Pile.objects.filter(code=p["pile"]).select_related("station__operator").first() \
        if isinstance(p["pile"], str) else None
    if pile is None:
        ctx.reject(f"no pile {p['pile']!r}")
    reason = p["reason"]
    today = localtime.local_day(ctx.block_time)
    compliance = PileCompliance.objects.filter(pile=pile).first()
    if reason in ("due_soon", "overdue"):
        if compliance is None:
            ctx.reject(f"{pile.code} has no verification on the ledger, so no due date")
        if reason == "overdue" and not compliance.due_on < today:
            ctx.reject(f"{pile.code} is due on {compliance.due_on.isoformat()}, not overdue")
        if reason == "due_soon" and compliance.due_on > today + dt.timedelta(days=DUE_SOON_DAYS):
            ctx.reject(f"{pile.code} is due on {compliance.due_on.isoformat()}, not within {DUE_SOON_DAYS} days")
        reference = compliance.due_on.isoformat()
    elif reason == "requested":
        if ctx.signer_role == "operator" and pile.station.operator.code != ctx.signer_id:
            ctx.reject(f"{ctx.signer_id} may only request verification of its own piles")
        reference = p.get("reference", "")
    else:
        ctx.reject("reason must be due_soon, overdue or requested")
    open_request(ctx, pile=pile, reason=reason, source=f"calibration.{reason}", reference=reference)
