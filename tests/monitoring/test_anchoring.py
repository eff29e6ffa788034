"""Readings are anchored by Merkle root; any reading's proof verifies against committed headers."""

import pytest

from ledger.chain.block import ZERO_HASH
from ledger.chain.lightclient import Anchor, verify_receipt
from ledger.chain.merkle import proof_from_hex, verify_leaf_inclusion
from ledger.chain.tx import Transaction
from ledger.models import Block
from ledger.runtime import node
from monitoring import ingest
from monitoring.models import AnchorBatch, Reading
from monitoring.services.anchoring import anchor_all
from monitoring.services.retention import apply_retention
from tests.monitoring.helpers import sample
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db


def headers():
    return [(b.header, b.certificate) for b in Block.objects.order_by("height")]


def test_anchor_and_proof_verifies(world, api_client):
    samples = [sample(i, "Voltage", str(220 + i), "V") for i in range(7)]
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=samples)
    ingest.record_meter_values(pile_code="PILE-B1", connector_id=2, samples=samples[:3])
    client = api_client("a_manager")
    first = Reading.objects.filter(pile__code="PILE-A1").order_by("id")[4]
    assert client.get(f"/api/monitoring/readings/{first.id}/proof/").json()["status"] == "unanchored"

    batches = anchor_all()
    assert sorted((b.institution, b.count) for b in batches) == [("OP-A", 7), ("OP-B", 3)]
    assert not Reading.objects.filter(batch__isnull=True).exists()
    assert anchor_all() == []  # nothing left
    assert client.get(f"/api/monitoring/readings/{first.id}/proof/").json()["status"] == "pending"
    commit_pending()

    body = client.get(f"/api/monitoring/readings/{first.id}/proof/").json()
    assert body["status"] == "committed" and body["tree_size"] == 7 and body["index"] == 4
    leaf = body["leaf"].encode()
    assert b'"value":"224"' in leaf and b'"pile":"PILE-A1"' in leaf
    root = bytes.fromhex(body["root"])
    assert verify_leaf_inclusion(leaf, body["index"], body["tree_size"], proof_from_hex(body["proof"]), root)
    # the anchor transaction commits to that root, was signed by the operator's node, and is final
    tx = Transaction.from_dict(body["anchor_tx"])
    assert tx.payload["root"] == body["root"] and tx.signer == "node:OP-A" and tx.type == "ledger.anchor"
    receipt = body["anchor_receipt"]["receipt"]
    validators = node.consortium().validators()
    assert verify_receipt(validators, Anchor.genesis(ZERO_HASH), headers(), receipt, body["anchor_tx"]).ok
    # a tampered reading does not verify
    forged = leaf.replace(b'"224"', b'"225"')
    assert not verify_leaf_inclusion(forged, body["index"], body["tree_size"], proof_from_hex(body["proof"]), root)
    assert body["leaf_matches"]
    # a reading changed in the table after anchoring no longer matches its leaf
    Reading.objects.filter(pk=first.pk).update(value="225")
    altered = client.get(f"/api/monitoring/readings/{first.id}/proof/").json()
    assert not altered["leaf_matches"]
    assert not verify_leaf_inclusion(altered["leaf"].encode(), altered["index"], altered["tree_size"],
                                     proof_from_hex(altered["proof"]), root)
    # another operator cannot even see the reading
    assert api_client("b_manager").get(f"/api/monitoring/readings/{first.id}/proof/").status_code == 404


def test_retention_deletes_only_old_committed_batches(world, settings):
    import datetime as dt

    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(0, "Voltage", "230", "V")])
    anchor_all()
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(1, "Voltage", "231", "V")])
    settings.MONITORING_RETENTION_DAYS = 1
    far_future = Reading.objects.order_by("ts").first().ts + dt.timedelta(days=30)
    assert apply_retention(now=far_future)["readings"] == 0  # anchor not committed yet
    anchor_all()
    commit_pending()
    assert apply_retention(now=far_future)["readings"] == 2
    assert AnchorBatch.objects.count() == 2  # the roots stay
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(2, "Voltage", "232", "V")])
    assert apply_retention(now=far_future)["readings"] == 0  # never anchored: kept


def test_readings_of_a_rejected_anchor_are_anchored_again(world):
    from ledger.models import CommittedTx

    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[sample(0, "Voltage", "230", "V")])
    [first] = anchor_all()
    commit_pending()
    # as if the ledger had refused it (e.g. a node that lost its operator role)
    CommittedTx.objects.filter(tx_id=first.tx_id).update(status="rejected")
    [second] = anchor_all()
    assert second.tx_id != first.tx_id and Reading.objects.get().batch == second


def test_retention_drops_the_interval_history_after_the_status_period(world, settings):
    import datetime as dt

    from monitoring.models import AuthorizationAttempt, ConnectionEvent

    now = dt.datetime.now(dt.timezone.utc)
    ingest.record_connection(pile_code="PILE-A1", up=True, at=now - dt.timedelta(days=10))
    ingest.record_connection(pile_code="PILE-A1", up=False, at=now - dt.timedelta(days=1))
    ingest.record_authorization(pile_code="PILE-A1", accepted=True, at=now - dt.timedelta(days=10))
    settings.MONITORING_STATUS_RETENTION_DAYS = 5
    assert apply_retention(now=now)["interval_history"] == 2
    assert list(ConnectionEvent.objects.values_list("up", flat=True)) == [False]
    assert not AuthorizationAttempt.objects.exists()
