"""What monitoring's contracts share: reading a payload's fields."""

from __future__ import annotations

from ledger.contracts import aware_time, plain_text
from registry.models import GridArea, Pile
from registry.models.piles import PileStatus


def own_area(ctx, p, refusal: str) -> GridArea:
    """The payload's grid area, which must be the signer's (a grid company's); `refusal` otherwise."""
    area = GridArea.objects.select_related("owner").filter(code=p.get("area")).first()
    if area is None:
        ctx.reject("unknown grid area")
    if area.owner.code != ctx.signer_id:
        ctx.reject(refusal)
    return area


def operated_pile(ctx, p) -> Pile:
    """The payload's pile, which the signer operates and which is not retired (with its station and
    operator loaded); rejected with the interval reports' codes otherwise."""
    pile = Pile.objects.select_related("station__operator").filter(code=p.get("pile")).first()
    if pile is None:
        ctx.reject("unknown_pile: no such pile is registered")
    if pile.station.operator.code != ctx.signer_id:
        ctx.reject(f"not_operator: {ctx.signer_id} does not operate pile {pile.code}")
    if pile.status == PileStatus.RETIRED:
        ctx.reject(f"pile_not_admitted: pile {pile.code} is retired")
    return pile


def time_range(ctx, p, what: str):
    """The payload's starts_at and ends_at (UTC), the end after the start ("<what> ends after it starts")."""
    starts = aware_time(ctx, p.get("starts_at"), "starts_at")
    ends = aware_time(ctx, p.get("ends_at"), "ends_at")
    if ends <= starts:
        ctx.reject(f"{what} ends after it starts")
    return starts, ends


def text(ctx, p, name, limit, required=False, multiline=False):
    """The payload's string field `name`, at most `limit` characters, plain text (rejected otherwise)."""
    value = p.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        ctx.reject(f"{name} must be a string of at most {limit} characters" + (" (required)" if required else ""))
    return plain_text(value, name, multiline=multiline)


def only(ctx, p, allowed):
    """Reject a payload with fields other than `allowed`."""
    extra = set(p) - set(allowed)
    if extra:
        ctx.reject(f"unexpected fields: {', '.join(sorted(extra))}")
