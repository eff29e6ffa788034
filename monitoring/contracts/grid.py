"""monitoring.load_threshold_set and monitoring.grid_outage_flag: a grid company sets the load above
which its area raises an alert, and flags supply outages in its area (excused in the availability
reports)."""

from __future__ import annotations

from decimal import Decimal

from ledger.contracts import NODE, decimal_value, register
from monitoring.contracts.common import only, own_area, text, time_range
from monitoring.models import AreaLoadThreshold, GridOutage


@register("monitoring.load_threshold_set", signer_kinds=(NODE,), roles={"grid"})
def load_threshold_set(ctx, tx):
    """A grid company sets the load (percent of capacity) above which its area raises an alert."""
    p = tx.payload
    only(ctx, p, {"area", "percent"})
    area = own_area(ctx, p, "only the area's grid company sets its threshold")
    percent = decimal_value(p.get("percent"), "percent", low=Decimal(1), high=Decimal(200), places=1, integers=True)
    row = AreaLoadThreshold.objects.filter(area=area).first() or AreaLoadThreshold(area=area)
    row.percent, row.set_by, row.height = percent, ctx.signer_id, ctx.block_height
    ctx.save(row)


@register("monitoring.grid_outage_flag", signer_kinds=(NODE,), roles={"grid"})
def grid_outage_flag(ctx, tx):
    """A grid company declares a supply outage in its area: not the operator's doing."""
    p = tx.payload
    only(ctx, p, {"area", "starts_at", "ends_at", "reason"})
    area = own_area(ctx, p, "only the area's grid company flags its outages")
    starts, ends = time_range(ctx, p, "an outage")
    ctx.save(GridOutage(
        uid=ctx.derive_uuid("outage"), area=area, starts_at=starts, ends_at=ends,
        reason=text(ctx, p, "reason", 300), flagged_by=ctx.signer_id, height=ctx.block_height,
    ))

