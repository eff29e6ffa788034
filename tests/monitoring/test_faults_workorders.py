"""A fault becomes a committed report, a work order and (for the meter) a verification request;
the work order's life is a series of transactions with their authority checked twice."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from ledger.contracts import ContractRejected
from ledger.models import CommittedTx
from ledger.services import node_submit
from monitoring import ingest
from monitoring.models import Fault, WorkOrder, WorkOrderStep
from monitoring.services import workorders as wo
from tests.monitoring.helpers import at, sample, submissions
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


def fault_on_a1(minutes=0, code="GroundFailure"):
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code=code, info="",
                         timestamp=at(minutes), source="ocpp1.6")


def test_fault_report_opens_work_order_with_due_time(world):
    fault_on_a1()
    block = commit_pending()
    assert block.applied >= 1 and block.rejected == 0
    fault = Fault.objects.get()
    assert (fault.pile.code, fault.kind, fault.severity, fault.reported_by) == ("PILE-A1", "status", "critical", "OP-A")
    order = WorkOrder.objects.get()
    assert order.fault == fault and order.operator.code == "OP-A" and order.state == "opened"
    assert order.due_at - order.opened_at == dt.timedelta(hours=4)  # critical
    assert order.opened_height == block.height
    [step] = WorkOrderStep.objects.all()
    assert step.state == "opened" and step.height == block.height


def test_metering_fault_opens_verification_request(world):
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
        sample(0, "Energy.Active.Import.Register", "5000", "Wh"), sample(1, "Energy.Active.Import.Register", "4000", "Wh"),
    ])
    commit_pending()
    fault = Fault.objects.get()
    assert fault.metering and fault.kind == "energy_backwards"
    from calibration.models import VerificationRequest

    request = VerificationRequest.objects.get()
    assert request.pile.code == "PILE-A1" and request.reference == str(fault.uid) and request.reason == "metering_fault"


def test_contract_refuses_second_report_while_handled_and_foreign_operator(world):
    fault_on_a1()
    commit_pending()
    payload = dict(submissions("monitoring.fault_report").first().body["payload"])
    with pytest.raises(ContractRejected, match="already being handled"):  # the service hears of it at once
        node_submit(type="monitoring.fault_report", payload=payload, institution="OP-A")
    node_submit(type="monitoring.fault_report", payload=payload, institution="OP-A", check=False)  # a replay, new nonce
    node_submit(type="monitoring.fault_report", payload=payload, institution="OP-B", check=False)  # not the pile's operator
    node_submit(type="monitoring.fault_report", payload={**payload, "connector_id": 1, "kind": "status", "pile": "PILE-A1"},
                institution="METRO", check=False)  # a metrology node may not report
    commit_pending()
    reasons = list(CommittedTx.objects.filter(type="monitoring.fault_report", status="rejected").order_by("index")
                   .values_list("reason", flat=True))
    assert len(reasons) == 3
    assert "already being handled" in reasons[0]
    assert "only the pile's operator" in reasons[1]
    assert "metrology" in reasons[2]
    assert Fault.objects.count() == 1


def step(user, order, to, **kw):
    sub = wo.workorder_step(actor=user, work_order=order, to=to, **kw)
    commit_pending()
    order.refresh_from_db()
    return sub


def test_work_order_life_and_authority(world):
    users = world.users
    fault_on_a1()
    commit_pending()
    order = WorkOrder.objects.get()
    from registry.models import User

    engineer = User.objects.create_user("a_engineer", password="x", institution=world.institutions["OP-A"], staff_role="engineer")
    # refused at the service: another operator, a viewer, an engineer verifying
    for user, to in ((users["b_manager"], "assigned"), (users["a_viewer"], "assigned"), (users["reg_manager"], "closed"),
                     (users["grid_manager"], "assigned")):
        with pytest.raises(PermissionDenied):
            wo.workorder_step(actor=user, work_order=order, to=to, assignee="x")
    step(engineer, order, "assigned", assignee="a_engineer")
    assert order.state == "assigned" and order.assignee == "a_engineer"
    step(engineer, order, "in_progress")
    step(engineer, order, "resolved", note="replaced the RCD")
    with pytest.raises(PermissionDenied):
        wo.workorder_step(actor=engineer, work_order=order, to="verified")
    step(users["a_manager"], order, "verified")
    step(users["a_manager"], order, "closed")
    assert order.state == "closed"
    trail = list(order.steps.order_by("height").values_list("state", "actor", "institution"))
    assert trail == [("opened", "", "OP-A"), ("assigned", "a_engineer", "OP-A"), ("in_progress", "a_engineer", "OP-A"),
                     ("resolved", "a_engineer", "OP-A"), ("verified", "a_manager", "OP-A"), ("closed", "a_manager", "OP-A")]
    heights = list(order.steps.order_by("height").values_list("height", flat=True))
    assert heights == sorted(set(heights))  # one block per step


def test_contract_checks_authority_even_if_a_web_tier_lies(world):
    fault_on_a1()
    commit_pending()
    order = WorkOrder.objects.get()
    # OP-B's node (a compromised web tier) signs a step for OP-A's work order; an engineer claims to close.
    node_submit(type="monitoring.workorder_step", institution="OP-B", check=False,
                payload={"work_order": str(order.uid), "to": "assigned", "actor": "mallory", "actor_role": "manager", "assignee": "m"})
    node_submit(type="monitoring.workorder_step", institution="OP-A", check=False,
                payload={"work_order": str(order.uid), "to": "closed", "actor": "eve", "actor_role": "engineer", "note": "x"})
    node_submit(type="monitoring.workorder_step", institution="OP-A", check=False,
                payload={"work_order": str(order.uid), "to": "resolved", "actor": "eve", "actor_role": "engineer"})
    node_submit(type="monitoring.workorder_step", institution="METRO", check=False,
                payload={"work_order": str(order.uid), "to": "verified", "actor": "m", "actor_role": "manager"})
    commit_pending()
    reasons = list(CommittedTx.objects.filter(type="monitoring.workorder_step").order_by("index").values_list("status", "reason"))
    assert [r[0] for r in reasons] == ["rejected"] * 4
    assert "OP-B may not" in reasons[0][1]
    assert "engineer may not" in reasons[1][1]
    assert "cannot become resolved" in reasons[2][1]
    assert "METRO may not" in reasons[3][1]  # not a metering fault
    order.refresh_from_db()
    assert order.state == "opened"


def test_overdue_work_order_alerted_once(world):
    from django.core.cache import cache

    fault_on_a1()
    commit_pending()
    order = WorkOrder.objects.get()
    cache.delete(wo.overdue_key(order))  # the node's cache outlives tests
    assert wo.alert_overdue(now=order.due_at - dt.timedelta(minutes=1)) == []
    [alert] = wo.alert_overdue(now=order.due_at + dt.timedelta(minutes=1))
    assert (alert["kind"], alert["work_order"], alert["pile"], alert["operator"]) == (
        "work_order_overdue", str(order.uid), "PILE-A1", "OP-A")
    assert wo.alert_overdue(now=order.due_at + dt.timedelta(hours=1)) == []
    cache.delete(wo.overdue_key(order))
