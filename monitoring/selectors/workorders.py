"""Faults and work orders as a user may see them."""

from __future__ import annotations

from django.utils import timezone

from monitoring.models import Fault, WorkOrder, WorkOrderState

OPEN = (WorkOrderState.OPENED, WorkOrderState.ASSIGNED, WorkOrderState.IN_PROGRESS)


def fault_list(*, user):
    return Fault.objects.restrict(user).select_related("pile", "work_order").order_by("-height", "uid")


def workorder_list(*, user, state: str = "", pile: str = "", severity: str = "", assignee: str = "",
                   overdue: bool = False, open_only: bool = False):
    qs = WorkOrder.objects.restrict(user).select_related("pile", "operator", "fault")
    if state:
        qs = qs.filter(state=state)
    if open_only:
        qs = qs.filter(state__in=OPEN)
    if pile:
        qs = qs.filter(pile__code__iexact=pile)
    if severity:
        qs = qs.filter(severity=severity)
    if assignee:
        qs = qs.filter(assignee=assignee)
    if overdue:
        qs = qs.filter(state__in=OPEN, due_at__lt=timezone.now())
    return qs.order_by("due_at", "uid")


def workorder_detail(*, user, uid):
    return workorder_list(user=user).filter(uid=uid).first()


def workorder_trail(order: WorkOrder) -> list:
    return list(order.steps.order_by("height", "uid"))
