"""Opening verification requests from inside a contract (monitoring's metering faults, due dates).

Call `open_request(ctx, pile=..., reason=..., source=..., reference=...)` from any contract handler: it
writes through the context, so it is part of that transaction and every node does the same. A pile has
at most one open request; raising another while one is open counts on that one (raised_count) instead
of opening a second. The next verification record filed for the pile closes it.
"""

from __future__ import annotations

import re

from calibration.models import RequestStatus, VerificationRequest
from ledger.contracts import plain_text
from registry.models import Pile

REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SOURCE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
MAX_REFERENCE = 200


def open_request(ctx, *, pile, reason: str, source: str, reference: str = "") -> VerificationRequest:
    """The pile's open request, opened now if there was none. `pile` is a registry Pile (or its code);
    reason a short lower-case word (see models.RequestReason: metering_fault, due_soon, overdue,
    requested), source who raises it (e.g. "monitoring.metering_fault"), reference what it refers to
    (an alarm id, a date). Rejects the transaction (ctx.reject) on malformed values or an unknown pile."""
    if not isinstance(reason, str) or not REASON.match(reason):
        ctx.reject("a verification request's reason must be a short lower-case word")
    if not isinstance(source, str) or not SOURCE.match(source):
        ctx.reject("a verification request's source must be a short lower-case name")
    if not isinstance(reference, str) or len(reference) > MAX_REFERENCE:
        ctx.reject(f"a verification request's reference must be a string of at most {MAX_REFERENCE} characters")
    plain_text(reference, "reference")
    if not isinstance(pile, Pile):
        found = Pile.objects.filter(code=pile).first() if isinstance(pile, str) else None
        if found is None:
            ctx.reject(f"no pile {pile!r} to request a verification for")
        pile = found
    existing = (VerificationRequest.objects.select_for_update()
                .filter(pile=pile, status=RequestStatus.OPEN).order_by("uid").first())
    if existing is not None:
        existing.raised_count += 1
        existing.last_raised_height = ctx.block_height
        ctx.save(existing)
        return existing
    request = VerificationRequest(
        uid=ctx.derive_uuid("verification-request", pile.code), pile=pile, reason=reason, source=source,
        reference=reference, addressed_to="metrology", status=RequestStatus.OPEN, opened_by=ctx.tx.signer,
        opened_height=ctx.block_height, opened_at=ctx.block_time, raised_count=1,
        last_raised_height=ctx.block_height, tx_id=ctx.tx.id,
    )
    ctx.save(request)
    return request


def close_requests(ctx, *, pile, record) -> int:
    """Close the pile's open request (if any) because `record` was filed; returns how many were closed."""
    closed = 0
    for request in (VerificationRequest.objects.select_for_update()
                    .filter(pile=pile, status=RequestStatus.OPEN).order_by("uid")):
        request.status = RequestStatus.CLOSED
        request.closed_height = ctx.block_height
        request.closed_by_record = str(record.uid)
        ctx.save(request)
        closed += 1
    return closed
