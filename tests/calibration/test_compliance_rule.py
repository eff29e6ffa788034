"""Compliance at a time is one rule: the pages' and API's answer (calibration.selectors.compliance_at)
and the contracts' (ComplianceHistory, read by settlement's session checks and subsidy's claims)
must agree on every case the tests know.

The cases come from the existing tests of both: no record yet (unverified), a failing filing
(non_compliant from its block on, unverified before it), a passing one after it (compliant from its
block on, the earlier heights keep their answer), the same pile past its due date (overdue) and on it
(still compliant), a moment before a change's block time, the current time, and a filing with its
correction in one block (the later transaction of the block stands).

When this test was first written, the two were separate code: the selector filtered the rows in
SQL (by height and, given `at`, by `since`) and took the day for "overdue" from `at`, the block's
time or the clock; settlement.contracts.assessment.ComplianceHistory (the contracts') walked the rows newest
first and always asked at a moment. Run against both, every case below agreed but one: asked about
"now" (no height, no moment) while the blocks are dated ahead of this node's clock, the selector said
compliant (it took the newest change whatever its `since`) and the contracts' rule unverified (no
change is in force before its block's time). The contracts' rule was kept: it now lives in
calibration.contracts.compliance, and the selector asks it at `at`, else at the block's time for a
height, else now. For a height alone both readings agree, since a change's `since` is its block's
time and each block is later than its parent (the replicas refuse one that is not).
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from calibration import selectors, services
from calibration.contracts.compliance import ComplianceHistory
from calibration.models import ComplianceChange
from ledger.execution import ID_NAMESPACE
from ledger.models import Block
from ledger.services import node_submit
from registry.models import Pile
from tests.calibration.helpers import ALL_OK, box_record
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db

PILE = "PILE-A1"
FAILING = (1_000_000, 1_025_000, 500_000)  # +2.5 % at one load point: fails class 2


def _block_time(height: int) -> dt.datetime:
    block = Block.objects.filter(height__lte=height).order_by("-height").first()
    return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(milliseconds=block.timestamp_ms if block else 0)


def _both(*, height: int | None = None, at: dt.datetime | None = None) -> tuple[str, str]:
    """(the selector's status, the contracts' status) for the same question."""
    selector = selectors.compliance_at(PILE, height=height, at=at).status
    moment = at if at is not None else (_block_time(height) if height is not None else dt.datetime.now(dt.timezone.utc))
    contract = ComplianceHistory(Pile.objects.get(code=PILE), height=height).status_at(moment)
    return selector, contract


def _file(record, *, at: dt.datetime, **kw):
    node_submit(type="calibration.record_file", institution="METRO", check=False,
                payload=services.filing_payload(record=record, observations=ALL_OK, inspector="Li Wei", **kw))
    return commit_pending(at=at)


def test_selector_and_contract_rule_agree_on_a_pile_s_history(world):
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ms = int(start.timestamp()) * 1000
    nothing = commit_pending(at=start) or Block.objects.order_by("-height").first()
    height0 = nothing.height if nothing is not None else 0
    assert _both(height=height0) == ("unverified", "unverified")
    assert _both() == ("unverified", "unverified")

    fail_at = start + dt.timedelta(minutes=10)
    fail_block = _file(box_record(sequence=1, indicated=FAILING, timestamp_ms=ms), at=fail_at, kind="first")
    pass_at = start + dt.timedelta(hours=2)
    pass_block = _file(box_record(sequence=2, timestamp_ms=ms + 3_600_000), at=pass_at, kind="subsequent")
    due_on = ComplianceChange.objects.get(height=pass_block.height).due_on

    cases = {
        "before the failing block": (dict(height=fail_block.height - 1), "unverified"),
        "the failing block": (dict(height=fail_block.height), "non_compliant"),
        "the passing block": (dict(height=pass_block.height), "compliant"),
        "a moment before the first change": (dict(at=fail_at - dt.timedelta(seconds=1)), "unverified"),
        "the failing block's time": (dict(at=fail_at), "non_compliant"),
        "between the two": (dict(at=fail_at + dt.timedelta(minutes=30)), "non_compliant"),
        "the passing block's time": (dict(at=pass_at), "compliant"),
        "the failing height, a later moment": (dict(height=fail_block.height, at=pass_at), "non_compliant"),
        "on the due day": (dict(at=dt.datetime.combine(due_on, dt.time(12), tzinfo=dt.timezone.utc)), "compliant"),
        "past the due day": (dict(at=dt.datetime.combine(due_on + dt.timedelta(days=1), dt.time(12),
                                                          tzinfo=dt.timezone.utc)), "overdue"),
        # The blocks above are dated ahead of this node's clock: at "now" no change is in force yet.
        "now, before the blocks' times": (dict(), "unverified"),
    }
    answers = {name: _both(**question) for name, (question, _) in cases.items()}
    assert answers == {name: (expected, expected) for name, (_, expected) in cases.items()}


def test_selector_and_contract_rule_agree_on_a_correction_in_the_same_block(world):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ms = int(now.timestamp()) * 1000
    filing = node_submit(type="calibration.record_file", institution="METRO", check=False,
                         payload=services.filing_payload(record=box_record(sequence=1, timestamp_ms=ms), kind="first",
                                                         observations=ALL_OK, inspector="Li Wei"))
    original = uuid.uuid5(ID_NAMESPACE, f"{filing.tx_id}/verification-record")
    node_submit(type="calibration.record_file", institution="METRO", check=False,
                payload=services.filing_payload(
                    record=box_record(sequence=2, timestamp_ms=ms, indicated=FAILING), kind="first",
                    observations=ALL_OK, inspector="Li Wei", corrects=str(original),
                    correction_reason="load point 2 was misread"))
    block = commit_pending(at=now)
    assert ComplianceChange.objects.filter(height=block.height).count() == 2
    block_time = _block_time(block.height)
    cases = {
        "the block": (dict(height=block.height), "non_compliant"),
        "the block's time": (dict(at=block_time), "non_compliant"),
        "a moment before it": (dict(at=block_time - dt.timedelta(milliseconds=1)), "unverified"),
        "the block before": (dict(height=block.height - 1), "unverified"),
        "a day later": (dict(at=block_time + dt.timedelta(days=1)), "non_compliant"),
    }
    answers = {name: _both(**question) for name, (question, _) in cases.items()}
    assert answers == {name: (expected, expected) for name, (_, expected) in cases.items()}
