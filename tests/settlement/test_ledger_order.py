"""Every order a contract relies on is total and the same on every node: by code point (never by the
database's collation), by the transaction's place in its block where two rows share a block (never
by the order the database happens to return them), never by ids (each node's own)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from calibration import selectors as calibration_selectors
from calibration import services as calibration_services
from calibration.models import ComplianceChange
from ledger.execution import ID_NAMESPACE
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import node_submit
from settlement.services import billing
from settlement.models import ChargingSession, EnergyTotal, Statement
from tests.calibration.helpers import ALL_OK, box_record
from tests.settlement.month import local
from tests.settlement.test_session_runs import closing, opening
from tests.settlement.test_statements import TERMS
from tests.utils.collation import collate_like_en_us
from tests.utils.ledger import commit_pending, configure_node

pytestmark = pytest.mark.django_db


def _applied(submission) -> None:
    committed = CommittedTx.objects.get(tx_id=submission.tx_id)
    assert committed.status == "applied", committed.reason


# Operators whose codes sort one way by code point ("OPA" < "OP_B") and the other under en-US.
MEMBERS = {
    "OPA": ("Operator A", "operator"),
    "OP_B": ("Operator B", "operator"),
    "GRID-1": ("Grid Company", "grid"),
    "METRO": ("Metrology Institute", "metrology"),
    "REG": ("Regulator", "regulator"),
}


@pytest.fixture
def two_operators_in_one_area(db, settings, monkeypatch, tmp_path):
    configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=MEMBERS, me="OPA")
    assert node.announce_consortium()
    node_submit(type="registry.grid_area_create", institution="GRID-1",
                payload={"owner": "GRID-1", "code": "AREA-1", "name": "Area", "capacity_kw": "800"})
    commit_pending(at=local(2030, 1, 1))
    for operator, station in (("OPA", "ST-A"), ("OP_B", "ST-B")):
        node_submit(type="registry.station_create", institution=operator, payload={
            "operator": operator, "code": station, "name": station, "address": "1 Century Avenue",
            "latitude": "31.2304", "longitude": "121.4737", "grid_area": "AREA-1"})
    commit_pending(at=local(2030, 1, 2))
    for operator, station in (("OPA", "ST-A"), ("OP_B", "ST-B")):
        node_submit(type="registry.pile_register", institution=operator, payload={
            "station": station, "code": f"P-{operator}", "kind": "ac", "rated_power_kw": "7",
            "connectors": [{"connector_id": 1, "standard": "gbt_ac"}]})
    commit_pending(at=local(2030, 1, 3))
    yield
    node.reset_caches()


def test_closing_writes_the_statements_in_code_point_order(two_operators_in_one_area):
    from registry.models import Institution

    if collate_like_en_us(Institution, "code"):
        assert list(Institution.objects.filter(code__in=["OPA", "OP_B"]).order_by("code")
                    .values_list("code", flat=True)) == ["OP_B", "OPA"]
    closing_tx = node_submit(type="settlement.period_close", institution="GRID-1", check=False,
                             payload={"area": "AREA-1", "period": "2030-03"})
    commit_pending(at=local(2030, 4, 2))
    _applied(closing_tx)
    # Rows are written (and hashed into the block's write set) one after the other: their ids show the order.
    assert [s.operator.code for s in Statement.objects.order_by("pk")] == ["OPA", "OP_B"]


def test_totals_are_written_in_pile_code_order_not_id_order(world):
    """PILE-A0 joins after PILE-A1 (a higher id, a lower code): the totals of a run follow the code."""
    register = node_submit(type="registry.pile_register", institution="OP-A", payload={
        "station": "ST-A", "code": "PILE-A0", "kind": "ac", "rated_power_kw": "7",
        "connectors": [{"connector_id": 1, "standard": "gbt_ac"}]})
    commit_pending(at=local(2030, 3, 1))
    _applied(register)
    start, stop = local(2030, 3, 2, 9), local(2030, 3, 2, 10)
    for pile in ("PILE-A1", "PILE-A0"):
        node_submit(type="settlement.session_open", institution="OP-A", check=False,
                    payload=opening(pile, f"t-{pile}", start))
        node_submit(type="settlement.session_close", institution="OP-A", check=False,
                    payload=closing(pile, f"t-{pile}", start, stop, 3000))
    block = commit_pending(at=local(2030, 3, 2, 11))
    assert (block.applied, block.rejected) == (4, 0)
    assert [t.pile.code for t in EnergyTotal.objects.order_by("pk")] == ["PILE-A0", "PILE-A1"]


def test_terms_published_twice_in_one_block_the_later_one_is_in_force(world):
    for user in ("a_manager", "grid_manager"):  # the operator's terms first, then the grid company's
        billing.terms_publish(world.users[user], area="AREA-1", operator="OP-A", valid_from=dt.date(2030, 1, 1),
                              terms=TERMS)
    block = commit_pending(at=local(2030, 1, 2))
    assert (block.applied, block.rejected) == (2, 0)
    node_submit(type="settlement.period_close", institution="GRID-1", check=False,
                payload={"area": "AREA-1", "period": "2030-03"})
    commit_pending(at=local(2030, 4, 2))
    statement = Statement.objects.get(operator__code="OP-A")
    assert (statement.terms.published_by, statement.terms.tx_index) == ("GRID-1", 1)


def test_a_filing_and_its_correction_in_one_block_the_correction_stands(world):
    """Both changes have the block's height and time; the correction, later in the block, is the
    standing from then on: for the pile's compliance and for the sessions settlement checks."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    ms = int(now.timestamp()) * 1000
    filing = node_submit(type="calibration.record_file", institution="METRO", check=False,
                         payload=calibration_services.filing_payload(
                             record=box_record(sequence=1, timestamp_ms=ms), kind="first", observations=ALL_OK,
                             inspector="Li Wei"))
    record_uid = uuid.uuid5(ID_NAMESPACE, f"{filing.tx_id}/verification-record")  # as the contract derives it
    correction = node_submit(type="calibration.record_file", institution="METRO", check=False,
                             payload=calibration_services.filing_payload(
                                 record=box_record(sequence=2, timestamp_ms=ms, indicated=(1_000_000, 1_025_000, 500_000)),
                                 kind="first", observations=ALL_OK, inspector="Li Wei", corrects=str(record_uid),
                                 correction_reason="load point 2 was misread"))
    block = commit_pending(at=now)
    _applied(filing)
    _applied(correction)
    changes = ComplianceChange.objects.filter(pile__code="PILE-A1")
    assert sorted(changes.values_list("height", "tx_index", "status")) == [
        (block.height, 0, "compliant"), (block.height, 1, "non_compliant")]
    assert calibration_selectors.compliance_at("PILE-A1", height=block.height).status == "non_compliant"

    start = now + dt.timedelta(hours=1)
    node_submit(type="settlement.session_open", institution="OP-A", check=False,
                payload=opening("PILE-A1", "after", start))
    node_submit(type="settlement.session_close", institution="OP-A", check=False,
                payload=closing("PILE-A1", "after", start, start + dt.timedelta(hours=1), 3000))
    commit_pending(at=start + dt.timedelta(hours=2))
    assert ChargingSession.objects.get(transaction_id="after").held_reason == "non_compliant"
