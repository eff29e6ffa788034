"""monitoring.maintenance_announce: an operator announces planned maintenance of connectors of its
pile before it starts; outage inside it is excluded from uptime (docs/intervals.md, "Uptime").

No exclusion can be declared after the fact by the party that benefits: the window must start after
the block's time. Each connector may have at most the consortium's `maintenance_cap_s` announced per
calendar year (the local year the window starts in), counted over every window announced for it.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum

from core import localtime
from ledger import definition
from ledger.contracts import NODE, register
from monitoring.contracts.common import only, operated_pile, text, time_range
from monitoring.models import MaintenanceWindow
from registry.models import Connector

ANNOUNCE = "monitoring.maintenance_announce"
MAX_WINDOW = dt.timedelta(days=7)


def _year_bounds(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    year = localtime.local_day(moment).year
    return localtime.day_bounds(dt.date(year, 1, 1))[0], localtime.day_bounds(dt.date(year + 1, 1, 1))[0]


@register(ANNOUNCE, signer_kinds=(NODE,), roles={"operator"})
def maintenance_announce(ctx, tx):
    """Planned maintenance of connectors of a pile, announced by its operator before it starts."""
    p = tx.payload
    if not isinstance(p, dict):
        ctx.reject("a maintenance announcement is an object")
    only(ctx, p, {"pile", "connectors", "starts_at", "ends_at", "reason"})
    pile = operated_pile(ctx, p)
    starts, ends = time_range(ctx, p, "maintenance")
    if ends - starts > MAX_WINDOW:
        ctx.reject("a maintenance window is at most 7 days long")
    if (ends - starts).total_seconds() < definition.stored().intervals.length_s:
        ctx.reject("a maintenance window is at least one interval long")
    if starts <= ctx.block_time:
        ctx.reject(f"maintenance is announced before it starts: it starts {starts.isoformat()}, not after this "
                   f"block's time ({ctx.block_time.isoformat()})")
    registered = sorted(Connector.objects.filter(pile=pile).values_list("connector_id", flat=True))
    wanted = p.get("connectors")
    if wanted in (None, []):
        wanted = registered
    if (not isinstance(wanted, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in wanted)
            or len(set(wanted)) != len(wanted)):
        ctx.reject("connectors must be a list of distinct connector numbers (empty: all of the pile's)")
    unknown = sorted(set(wanted) - set(registered))
    if unknown:
        ctx.reject(f"pile {pile.code} has no connector {', '.join(map(str, unknown))}")
    reason = text(ctx, p, "reason", 300, required=True)
    cap = definition.stored().intervals.maintenance_cap_s
    year_start, year_end = _year_bounds(starts)
    length = int((ends - starts).total_seconds())
    used = {row["connector_id"]: row["used"] for row in (
        MaintenanceWindow.objects.filter(pile=pile, connector_id__in=wanted, starts_at__gte=year_start,
                                         starts_at__lt=year_end)
        .order_by().values("connector_id").annotate(used=Sum("seconds")))}
    for connector_id in sorted(wanted):
        if used.get(connector_id, 0) + length > cap:
            ctx.reject(f"connector {connector_id} of pile {pile.code} would have {used.get(connector_id, 0) + length} s "
                       f"of planned maintenance this year, above the consortium's cap of {cap} s")
    ctx.bulk_insert([MaintenanceWindow(
        uid=ctx.derive_uuid("maintenance", str(connector_id)), pile=pile, connector_id=connector_id, starts_at=starts,
        ends_at=ends, seconds=length, reason=reason, announced_by=ctx.signer_id, height=ctx.block_height,
    ) for connector_id in sorted(wanted)])
