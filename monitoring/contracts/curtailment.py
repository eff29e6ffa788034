"""monitoring.curtailment_request: the area's grid company limits its charging power for a time range
(docs/intervals.md, "Curtailment"). Each operator's gateway applies its piles' share
(monitoring.intervals.curtailment) through OCPP smart charging and records each pile's answer; the
agreed intervals show whether the limit held."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.contracts import NODE, decimal_value, register
from monitoring.contracts.common import only, own_area, text, time_range
from django.db.models import Sum

from monitoring.models import Curtailment
from registry.models import Pile
from registry.models.piles import PileStatus

REQUEST = "monitoring.curtailment_request"
MAX_LENGTH = dt.timedelta(days=1)
ADMITTED = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)


@register(REQUEST, signer_kinds=(NODE,), roles={"grid"})
def curtailment_request(ctx, tx):
    """The area's grid company limits the charging power of its area for a time range."""
    p = tx.payload
    if not isinstance(p, dict):
        ctx.reject("a curtailment request is an object")
    only(ctx, p, {"area", "starts_at", "ends_at", "limit_kw", "reason"})
    area = own_area(ctx, p, "only the area's grid company curtails its area")
    starts, ends = time_range(ctx, p, "a curtailment")
    if ends - starts > MAX_LENGTH:
        ctx.reject("a curtailment lasts at most a day (ask again for the next)")
    if ends <= ctx.block_time:
        ctx.reject("the curtailment is over at this block's time")
    limit = decimal_value(p.get("limit_kw"), "limit_kw", low=Decimal(0), high=Decimal(10**8), places=1)
    overlapping = (Curtailment.objects.filter(area=area, starts_at__lt=ends, ends_at__gt=starts)
                   .order_by("starts_at", "uid").first())
    if overlapping is not None:
        ctx.reject(f"the area is already curtailed from {overlapping.starts_at.isoformat()} to "
                   f"{overlapping.ends_at.isoformat()} (curtailment {overlapping.uid}): one at a time")
    rated = Pile.objects.filter(station__grid_area=area, status__in=ADMITTED).aggregate(total=Sum("rated_power_kw"))
    ctx.save(Curtailment(
        uid=ctx.derive_uuid("curtailment"), area=area, starts_at=starts, ends_at=ends, limit_kw=limit,
        rated_total_kw=rated["total"] or Decimal(0),
        reason=text(ctx, p, "reason", 300), requested_by=ctx.signer_id, height=ctx.block_height,
    ))
