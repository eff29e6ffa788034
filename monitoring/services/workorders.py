"""Work order steps: the web and API layer's check, then a transaction the contract checks again."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.submit import submit
from ledger.runtime import node
from monitoring import alert_fanout, alerts
from monitoring.contracts.workorders import TRANSITIONS
from monitoring.models import WorkOrder, WorkOrderState
from monitoring.selectors.workorders import OPEN
from monitoring.services.anchoring import signing_operators
from registry.access import member_institution

STEP = "monitoring.workorder_step"


def allowed_steps(*, actor, work_order: WorkOrder) -> list[str]:
    """The states this person may move the work order to now (for the forms)."""
    institution = member_institution(actor)
    if institution is None:
        return []
    steps = []
    for to, (sources, staff_roles) in TRANSITIONS.items():
        if work_order.state not in sources or actor.staff_role not in staff_roles:
            continue
        own = institution.pk == work_order.operator_id
        metrology_verify = (
            institution.role == "metrology" and to == WorkOrderState.VERIFIED
            and work_order.fault_id is not None and work_order.fault.metering
        )
        if own or metrology_verify:
            steps.append(str(to))
    return steps


def workorder_step(*, actor, work_order: WorkOrder, to: str, assignee: str = "", note: str = ""):
    if to not in TRANSITIONS:
        raise ValidationError({"to": _("Unknown step.")})
    if to not in allowed_steps(actor=actor, work_order=work_order):
        raise PermissionDenied(_("You may not move this work order to that state."))
    if to == WorkOrderState.ASSIGNED and not assignee:
        raise ValidationError({"assignee": _("Name the person who takes the work order.")})
    if to == WorkOrderState.CLOSED and work_order.state != WorkOrderState.VERIFIED and not note:
        raise ValidationError({"note": _("Say why a work order that was not verified is closed.")})
    payload = {"work_order": str(work_order.uid), "to": to, "actor": actor.username, "actor_role": actor.staff_role,
               "note": note[:1000]}
    if to == WorkOrderState.ASSIGNED:
        payload["assignee"] = assignee[:150]
    return submit(type=STEP, payload=payload, actor=actor, institution=actor.institution, field="to")


def overdue_key(order) -> str:
    return f"monitoring:overdue:{order.uid}"


def alert_overdue(*, now=None) -> list[dict]:
    """Push an alert, once, for each open work order past its due time (the mark is in the node's
    cache). Only the operator's own node pushes it, as it does for the fault itself."""
    now = now or timezone.now()
    try:
        mine = signing_operators()
    except node.NotConfigured:
        return []
    raised = []
    overdue = WorkOrder.objects.select_related("pile__station__operator", "pile__station__grid_area__owner", "fault").filter(
        state__in=OPEN, due_at__lt=now, operator__code__in=mine
    ).order_by("due_at", "uid")
    for order in overdue[:1000]:
        if not cache.add(overdue_key(order), 1, timeout=90 * 86400):
            continue
        payload = {"connector_id": order.fault.connector_id if order.fault_id else 0, "kind": "work_order_overdue",
                   "severity": order.severity, "error_code": "", "detail": f"{order.title} (due {order.due_at.isoformat()})",
                   "detected_at": now.isoformat()}
        alert = alerts.build(phase="reported", tx_id=f"overdue:{order.uid}", pile=order.pile, payload=payload,
                             height=order.height, work_order=str(order.uid),
                             fault=str(order.fault.uid) if order.fault_id else None)
        alert_fanout.publish(alert)
        raised.append(alert)
    return raised
