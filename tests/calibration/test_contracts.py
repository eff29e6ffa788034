"""calibration.record_file and the requests, through services and commit_pending (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from calibration import selectors, services
from calibration.contracts.filing import FilingError
from calibration.models import ComplianceStatus, RequestStatus, VerificationRecord, VerificationRequest
from ledger.chain.tx import Transaction
from ledger.contracts import register
from ledger.models import CommittedTx, Submission
from ledger.runtime import node
from ledger.services import node_submit
from tests.calibration.helpers import ALL_OK, box_record
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


@register("tests.calibration.metering_fault", roles={"operator", "grid", "metrology", "regulator"})
def _fault(ctx, tx):
    """Stands in for monitoring's contract: opens a request through calibration.contracts.request_rows."""
    from calibration.contracts.request_rows import open_request

    open_request(ctx, pile=tx.payload["pile"], reason="metering_fault", source="monitoring.metering_fault",
                 reference=tx.payload["alarm"])


def _file(world, record, observations=ALL_OK, kind="first", **kw):
    return services.record_file(world.users["metro_manager"], record=record, kind=kind,
                                observations=observations, **kw)


def test_open_request_dedups_and_filing_closes_it(world):
    node_submit(type="tests.calibration.metering_fault", payload={"pile": "PILE-A1", "alarm": "AL-1"},
                institution="OP-A")
    node_submit(type="tests.calibration.metering_fault", payload={"pile": "PILE-A1", "alarm": "AL-2"},
                institution="OP-A")
    commit_pending()
    [request] = VerificationRequest.objects.all()
    assert (request.status, request.reason, request.raised_count, request.reference) == \
        ("open", "metering_fault", 2, "AL-1")
    assert request.source == "monitoring.metering_fault" and request.addressed_to == "metrology"
    node_submit(type="tests.calibration.metering_fault", payload={"pile": "NOPE", "alarm": "AL-3"}, institution="OP-A",
                check=False)
    block = commit_pending()
    assert block.rejected == 1
    assert "no pile" in CommittedTx.objects.get(block__height=block.height).reason

    _file(world, box_record(sequence=1))
    commit_pending()
    request.refresh_from_db()
    record = VerificationRecord.objects.get()
    assert request.status == RequestStatus.CLOSED and request.closed_by_record == str(record.uid)


def test_fail_then_pass_and_compliance_history(world):
    failing = box_record(sequence=1, indicated=(1_000_000, 1_025_000, 500_000))  # +2.5 % at one point, class 2
    _file(world, failing)
    fail_block = commit_pending()
    record = VerificationRecord.objects.get()
    assert record.conclusion == "fail"
    assert [i["status"] for i in record.items if i["item"] == "working_error"] == ["fail"]
    answer = selectors.compliance_at("PILE-A1", height=fail_block.height)
    assert (answer.status, answer.since_height) == ("non_compliant", fail_block.height)
    assert selectors.compliance_at("PILE-A1", height=fail_block.height - 1).status == "unverified"

    _file(world, box_record(sequence=2), kind="subsequent")
    pass_block = commit_pending()
    assert selectors.compliance_at("PILE-A1", height=pass_block.height).status == ComplianceStatus.COMPLIANT
    assert selectors.compliance_at("PILE-A1", height=fail_block.height).status == "non_compliant"
    from calibration.models import PileCompliance

    row = PileCompliance.objects.get(pile__code="PILE-A1")
    assert row.status == "compliant" and row.since_height == pass_block.height
    # The due date: the day the box sealed the record (UTC+8) plus 36 months (limits data).
    sealed = dt.datetime.fromtimestamp(row.last_record.measurement["timestamp_ms"] / 1000,
                                       tz=dt.timezone(dt.timedelta(hours=8))).date()
    assert row.due_on == sealed.replace(year=sealed.year + 3)
    later = dt.datetime.combine(row.due_on + dt.timedelta(days=1), dt.time(12), tzinfo=dt.timezone.utc)
    assert selectors.compliance_at("PILE-A1", at=later).status == "overdue"


def test_correction_references_original(world):
    _file(world, box_record(sequence=1), observations={**ALL_OK, "insulation_mohm": "5.0"})
    commit_pending()
    original = VerificationRecord.objects.get()
    assert original.conclusion == "fail"
    sub = _file(world, original.measurement, corrects=str(original.uid),
                correction_reason="insulation typed as 5.0 instead of 50.0",
                observations={**ALL_OK, "insulation_mohm": "50.0"})
    commit_pending()
    correction = VerificationRecord.objects.get(tx_id=sub.tx_id)
    original.refresh_from_db()
    assert correction.corrects == original and original.conclusion == "fail"
    assert correction.conclusion == "pass"
    assert selectors.compliance_at("PILE-A1").status == "compliant"
    with pytest.raises(FilingError, match="latest"):
        _file(world, original.measurement, corrects=str(original.uid), correction_reason="again")
    # Every calibration row as written matches what the chain committed to (the audit digest), and a
    # replay of the whole chain rebuilds the same rows.
    from ledger.audit import audit_tables
    from ledger.execution import replay_all

    assert audit_tables().ok
    before = sorted(VerificationRecord.objects.values_list("uid", "conclusion", "height"))
    replay_all(role_of=node.role_of)
    assert sorted(VerificationRecord.objects.values_list("uid", "conclusion", "height")) == before
    assert audit_tables().ok


@pytest.mark.parametrize("mutate, code, message", [
    (lambda r: {**r, "pile_code": "PILE-ZZ"}, "signature", "signature does not verify"),
    (lambda r: box_record(sequence=5, pile="PILE-ZZ"), "unknown", "unknown pile PILE-ZZ"),
    (lambda r: box_record(sequence=5, box="TB-9"), "unknown", "unknown test box TB-9"),
    (lambda r: {**r, "units": {**r["units"], "energy": "kWh"}}, "units", "kWh"),
])
def test_bad_records_are_refused_before_submitting(world, mutate, code, message):
    with pytest.raises(FilingError, match=message) as err:
        _file(world, mutate(box_record(sequence=5)))
    assert err.value.code == code
    assert not Submission.objects.filter(type="calibration.record_file").exists()


def test_replay_duplicate_and_pending_duplicate(world):
    first = box_record(sequence=7)
    _file(world, first)
    with pytest.raises(FilingError, match="awaits commit") as err:
        _file(world, first)
    assert err.value.code == "duplicate"
    commit_pending()
    with pytest.raises(FilingError, match="already filed"):
        _file(world, first)
    with pytest.raises(FilingError, match="replayed") as err:
        _file(world, box_record(sequence=6))
    assert err.value.code == "replay"
    assert VerificationRecord.objects.count() == 1


def test_expired_box_is_refused(world):
    from registry.models import FieldTestBox

    FieldTestBox.objects.filter(serial="TB-1").update(certificate_expires_on=dt.date(2024, 1, 1))
    with pytest.raises(FilingError, match="expired") as err:
        _file(world, box_record(sequence=1))
    assert err.value.code == "expired"


def test_non_metrology_cannot_file_by_service_or_hand_made_tx(world):
    with pytest.raises(PermissionDenied):
        services.record_file(world.users["a_manager"], record=box_record(sequence=1), kind="first",
                             observations=ALL_OK)
    payload = services.filing_payload(record=box_record(sequence=1), kind="first", observations=ALL_OK,
                                      inspector="mallory")
    sub = node_submit(type="calibration.record_file", payload=payload, institution="OP-A", check=False)
    commit_pending()
    committed = CommittedTx.objects.get(tx_id=sub.tx_id)
    assert committed.status == "rejected" and "operator institution may not" in committed.reason
    # Another metrology institute may not file with METRO's box either.
    sub = node_submit(type="calibration.record_file", payload=payload, institution="METRO-2", check=False)
    commit_pending()
    committed = CommittedTx.objects.get(tx_id=sub.tx_id)
    assert committed.status == "rejected" and "belongs to METRO" in committed.reason
    assert not VerificationRecord.objects.exists()


def test_contract_recomputes_everything_from_the_signed_record(world):
    """A hand-made tx from the right node with a tampered record is rejected by the contract itself."""
    record = box_record(sequence=1)
    tampered = {**record, "indication": {**record["indication"], "displayed_energy_mwh": 2_500_001}}
    payload = services.filing_payload(record=tampered, kind="first", observations=ALL_OK, inspector="x")
    tx = Transaction.create(chain_id=node.consortium().chain_id, type="calibration.record_file", payload=payload,
                            signer="node:METRO", key=node.signing_key_for("METRO"), nonce="n1")
    Submission.objects.create(tx_id=tx.id, body=tx.to_dict(), type=tx.type)
    commit_pending()
    committed = CommittedTx.objects.get(tx_id=tx.id)
    assert committed.status == "rejected" and "signature does not verify" in committed.reason


def test_periodic_task_raises_due_and_overdue_requests(world):
    import time

    day_ms = 86_400_000
    now_ms = int(time.time() * 1000)
    _file(world, box_record(sequence=1, timestamp_ms=now_ms - 1080 * day_ms))                 # due in ~16 days
    _file(world, box_record(sequence=2, pile="PILE-B1", timestamp_ms=now_ms - 1200 * day_ms))  # overdue
    commit_pending()
    assert services.raise_due_requests() == []  # this test node is OP-A's: an operator's node does not raise them
    submitted = services.raise_due_requests(institution="METRO")  # as METRO's node does
    assert len(submitted) == 2
    commit_pending()
    reasons = dict(VerificationRequest.objects.values_list("pile__code", "reason"))
    assert reasons == {"PILE-A1": "due_soon", "PILE-B1": "overdue"}
    assert services.raise_due_requests(institution="METRO") == []  # both piles have an open request now
    # A hand-made "overdue" for a pile that is not overdue is rejected by the contract.
    sub = node_submit(type="calibration.request_open", payload={"pile": "PILE-A1", "reason": "overdue"},
                      institution="REG", check=False)
    commit_pending()
    assert "not overdue" in CommittedTx.objects.get(tx_id=sub.tx_id).reason


def test_operator_may_request_only_for_its_own_piles(world):
    with pytest.raises(Exception, match="own piles"):
        services.request_open(world.users["a_manager"], pile="PILE-B1")
    services.request_open(world.users["a_manager"], pile="PILE-A1", reference="customer complaint 17")
    commit_pending()
    request = VerificationRequest.objects.get()
    assert (request.pile.code, request.reason, request.opened_by) == ("PILE-A1", "requested", "node:OP-A")
