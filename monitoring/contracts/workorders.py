"""monitoring.fault_report and monitoring.workorder_step: a fault reported by a pile's operator
opens a maintenance work order (and, for a metering fault, a verification request in calibration);
work orders then move step by step. Deterministic: block time, derived ids, ordered reads."""

from __future__ import annotations

import datetime as dt
import uuid

from calibration.contracts.request_rows import open_request
from ledger.contracts import NODE, aware_time, register
from monitoring import alert_fanout, alerts
from monitoring.contracts.common import only, text
from monitoring.models import Fault, WorkOrder, WorkOrderState, WorkOrderStep
from monitoring.models.faults import METERING_KINDS, FaultKind, Severity
from registry.models import Pile

S = WorkOrderState
OPEN_STATES = (S.OPENED, S.ASSIGNED, S.IN_PROGRESS)
# to-state -> (from-states, staff roles of the acting person, who besides the operator may sign)
TRANSITIONS = {
    S.ASSIGNED: ((S.OPENED, S.ASSIGNED), ("engineer", "manager")),
    S.IN_PROGRESS: ((S.ASSIGNED, S.RESOLVED), ("engineer", "manager")),  # from resolved: reopened
    S.RESOLVED: ((S.IN_PROGRESS,), ("engineer", "manager")),
    S.VERIFIED: ((S.RESOLVED,), ("manager",)),
    S.CLOSED: ((S.VERIFIED, S.OPENED, S.ASSIGNED), ("manager",)),  # from opened/assigned: dismissed, note required
}
MAX_DUE_HOURS = 24 * 90


@register("monitoring.fault_report", signer_kinds=(NODE,), roles={"operator"})
def fault_report(ctx, tx):
    """A fault on a pile, reported by its operator's node: opens a maintenance work order (and, for a
    metering fault, a verification request to a metrology institute)."""
    p = tx.payload
    only(ctx, p, {"pile", "connector_id", "kind", "severity", "error_code", "detail", "metering", "detected_at", "due_hours"})
    pile = Pile.objects.select_related("station__operator", "station__grid_area__owner").filter(code=p.get("pile")).first()
    if pile is None:
        ctx.reject("unknown pile")
    if pile.station.operator.code != ctx.signer_id:
        ctx.reject("only the pile's operator reports its faults")
    connector_id = p.get("connector_id")
    if isinstance(connector_id, bool) or not isinstance(connector_id, int) or not 0 <= connector_id <= 32767:
        ctx.reject("connector_id must be a non-negative integer")
    if p.get("kind") not in FaultKind.values or p.get("kind") == FaultKind.AREA_OVERLOAD:
        ctx.reject("unknown fault kind")
    if p.get("severity") not in Severity.values:
        ctx.reject("unknown severity")
    due_hours = p.get("due_hours")
    if isinstance(due_hours, bool) or not isinstance(due_hours, int) or not 1 <= due_hours <= MAX_DUE_HOURS:
        ctx.reject(f"due_hours must be 1 to {MAX_DUE_HOURS}")
    metering = p.get("metering", False)
    if not isinstance(metering, bool):
        ctx.reject("metering must be true or false")
    metering = metering or p["kind"] in METERING_KINDS
    error_code = text(ctx, p, "error_code", 64)
    detail = text(ctx, p, "detail", 500)
    detected_at = aware_time(ctx, p.get("detected_at"), "detected_at")
    ongoing = (
        WorkOrder.objects.filter(pile=pile, state__in=OPEN_STATES, fault__kind=p["kind"], fault__connector_id=connector_id)
        .order_by("uid").first()
    )
    if ongoing is not None:
        ctx.reject(f"this fault is already being handled (work order {ongoing.uid})")

    fault = Fault(
        uid=ctx.derive_uuid("fault"), pile=pile, connector_id=connector_id, kind=p["kind"], error_code=error_code,
        severity=p["severity"], detail=detail, detected_at=detected_at, metering=metering,
        reported_by=ctx.signer_id, height=ctx.block_height, tx_id=tx.id,
    )
    ctx.save(fault)
    title = (detail or p["kind"])[:200]
    order = WorkOrder(
        uid=ctx.derive_uuid("work-order"), pile=pile, fault=fault, operator=pile.station.operator, state=S.OPENED,
        severity=p["severity"], title=title, assignee="", opened_at=ctx.block_time,
        due_at=ctx.block_time + dt.timedelta(hours=due_hours), opened_height=ctx.block_height, height=ctx.block_height,
    )
    ctx.save(order)
    ctx.save(WorkOrderStep(
        uid=ctx.derive_uuid("step"), work_order=order, state=S.OPENED, actor="", institution=ctx.signer_id,
        note=detail, at=ctx.block_time, height=ctx.block_height, tx_id=tx.id,
    ))
    if metering:
        open_request(ctx, pile=pile, reason="metering_fault", source="monitoring.metering_fault",
                     reference=str(fault.uid))
    alert = alerts.build(
        phase="confirmed", tx_id=tx.id, pile=pile, payload=p, height=ctx.block_height,
        work_order=str(order.uid), fault=str(fault.uid),
    )
    ctx.on_commit(lambda: alert_fanout.publish_confirmed(alert))


@register("monitoring.workorder_step", signer_kinds=(NODE,), roles={"operator", "metrology"})
def workorder_step(ctx, tx):
    """One step of a work order, by a person of the operator (or, to verify a metering fault's
    repair, of a metrology institute), vouched for by the signing node."""
    p = tx.payload
    only(ctx, p, {"work_order", "to", "actor", "actor_role", "assignee", "note"})
    try:
        uid = uuid.UUID(str(p.get("work_order")))
    except ValueError:
        ctx.reject("work_order must be a work order id")
    order = WorkOrder.objects.select_related("operator", "fault").filter(uid=uid).first()
    if order is None:
        ctx.reject("unknown work order")
    to = p.get("to")
    if to not in TRANSITIONS:
        ctx.reject("unknown step")
    sources, staff_roles = TRANSITIONS[to]
    actor = text(ctx, p, "actor", 150, required=True)
    note = text(ctx, p, "note", 1000, multiline=True)
    if p.get("actor_role") not in staff_roles:
        ctx.reject(f"a {p.get('actor_role')} may not move a work order to {to}")
    by_operator = ctx.signer_id == order.operator.code and ctx.signer_role == "operator"
    by_metrology = (
        ctx.signer_role == "metrology" and to == S.VERIFIED and order.fault is not None and order.fault.metering
    )
    if not (by_operator or by_metrology):
        ctx.reject(f"{ctx.signer_id} may not move this work order to {to}")
    if order.state not in sources:
        ctx.reject(f"a work order that is {order.state} cannot become {to}")
    if to == S.CLOSED and order.state != S.VERIFIED and not note:
        ctx.reject("closing a work order that was not verified needs a note")
    if to == S.ASSIGNED:
        order.assignee = text(ctx, p, "assignee", 150, required=True)
    order.state = to
    order.height = ctx.block_height
    ctx.save(order)
    ctx.save(WorkOrderStep(
        uid=ctx.derive_uuid("step"), work_order=order, state=to, actor=actor, institution=ctx.signer_id,
        note=note, at=ctx.block_time, height=ctx.block_height, tx_id=tx.id,
    ))
