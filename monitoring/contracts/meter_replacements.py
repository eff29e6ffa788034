"""monitoring.meter_replacement: the operator declares that a connector's meter was replaced, with
the old meter's last reading and the new meter's first (docs/intervals.md, "Meter replacements").

The interval reports' register check (a register never runs backwards) then starts again from the
new meter's first reading. What the declaration cannot do is rewrite what was reported or skip
ahead: `at` falls in the interval right after the connector's last reported one (or anywhere for a
connector never reported), not after the block's time, and not before an earlier replacement; the
old meter's last reading is not below the register last reported (the old meter did not run
backwards either). The interval it falls in is reported without registers (two meters' readings
make no energy: the report's `meter_replaced` check), and a correction of the interval before it
leaves the new meter's register alone. The declaration stays on the ledger beside the reports.
"""

from __future__ import annotations

import datetime as dt

from ledger import definition
from ledger.contracts import NODE, aware_time, register
from monitoring.contracts.common import only, operated_pile, text
from monitoring.models import ConnectorDay, MeterReplacement
from registry.models import Connector

REPLACEMENT = "monitoring.meter_replacement"
MAX_WH = 10**15


def _wh(ctx, p, name: str, *, nullable: bool) -> int | None:
    value = p.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WH:
        ctx.reject(f"malformed: {name} must be whole Wh from 0 to {MAX_WH}" + (", or null" if nullable else ""))
    return value


@register(REPLACEMENT, signer_kinds=(NODE,), roles={"operator"})
def meter_replacement(ctx, tx):
    """A connector's meter replaced: its register check restarts from the new meter's first reading."""
    p = tx.payload
    if not isinstance(p, dict):
        ctx.reject("malformed: a meter replacement is an object")
    only(ctx, p, {"pile", "connector", "at", "old_last_wh", "new_first_wh", "reason"})
    pile = operated_pile(ctx, p)
    connector = p.get("connector")
    if not isinstance(connector, int) or isinstance(connector, bool) \
            or not Connector.objects.filter(pile=pile, connector_id=connector).exists():
        ctx.reject(f"unknown_connector: pile {pile.code} has no connector {connector!r}")
    at = aware_time(ctx, p.get("at"), "at")
    if at > ctx.block_time:
        ctx.reject(f"not_yet: a replacement is declared once done; at ({at.isoformat()}) is after this block's time")
    old_last = _wh(ctx, p, "old_last_wh", nullable=True)
    new_first = _wh(ctx, p, "new_first_wh", nullable=False)
    reason = text(ctx, p, "reason", 300, required=True)
    where = f"pile {pile.code} connector {connector}"
    earlier = MeterReplacement.objects.filter(pile=pile, connector_id=connector).order_by("-at").first()
    if earlier is not None and at < earlier.at:
        ctx.reject(f"interval_order: {where} had its meter replaced at {earlier.at.isoformat()}, after {at.isoformat()}")
    latest = ConnectorDay.objects.filter(pile=pile, connector_id=connector).order_by("-day").first()
    if latest is not None:
        length = dt.timedelta(seconds=definition.stored().intervals.length_s)
        if not latest.reported_until <= at < latest.reported_until + length:
            ctx.reject(f"interval_order: {where} is reported until {latest.reported_until.isoformat()}; a replacement "
                       f"is declared in the interval after the last one reported (report up to it first)")
        if old_last is not None and latest.register_wh is not None and old_last < latest.register_wh:
            ctx.reject(f"register_backwards: {where}: the old meter's last reading ({old_last} Wh) is below the "
                       f"register last reported ({latest.register_wh} Wh)")
        latest.register_wh, latest.register_signed, latest.height = new_first, False, ctx.block_height
        ctx.save(latest)
    ctx.save(MeterReplacement(
        uid=ctx.derive_uuid("meter-replacement"), pile=pile, connector_id=connector, at=at, old_last_wh=old_last,
        new_first_wh=new_first, reason=reason, declared_by=ctx.signer_id, height=ctx.block_height))
