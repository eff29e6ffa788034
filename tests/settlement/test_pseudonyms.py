"""Drivers' id tags on the ledger (PIPL): only the operator node's keyed hash, stable across
restarts, useless without the node's key, and the only form the session contract accepts."""

import datetime as dt
import hashlib
import hmac
import os
import stat

import pytest

from ledger import node_keys
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import node_submit
from settlement.identifiers import is_id_tag_pseudonym
from settlement.pseudonyms import id_tag_pseudonym
from tests.utils.ledger import assert_never_on_ledger, commit_pending

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc)


def test_the_pseudonym_key_is_a_private_file_created_once_and_kept(ledger_node):
    key = node.pseudonym_key()
    path = node_keys.keys_dir() / node_keys.PSEUDONYM_FILE
    assert len(key) == 32 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = id_tag_pseudonym("04A1B2C3D4", operator="OP-A")
    node.reset_caches()  # a restart reads the same file
    assert node.pseudonym_key() == key and id_tag_pseudonym("04A1B2C3D4", operator="OP-A") == first
    assert is_id_tag_pseudonym(first) and id_tag_pseudonym("", operator="OP-A") == ""


def test_the_pseudonym_is_keyed_and_names_the_operator(ledger_node):
    tag = "04A1B2C3D4"
    mine = id_tag_pseudonym(tag, operator="OP-A")
    assert mine == hmac.new(node.pseudonym_key(), b"pilechain-id-tag-v1\0OP-A\0" + tag.encode(), hashlib.sha256).hexdigest()
    # Another member hashing a dictionary of card numbers without the key finds nothing.
    assert mine not in {hashlib.sha256(t.encode()).hexdigest() for t in (tag, "04A1B2C3D5")}
    assert mine != id_tag_pseudonym(tag, operator="OP-A", key=bytes(32))
    # One driver at two operators hosted by one node: two unlinkable pseudonyms.
    assert mine != id_tag_pseudonym(tag, operator="OP-B")
    assert mine != id_tag_pseudonym("04A1B2C3D5", operator="OP-A")


def test_the_session_carries_the_pseudonym_and_never_the_tag(world):
    from settlement.models import ChargingSession
    from settlement.services import sessions as services

    submission, uid = services.session_open(pile="PILE-A1", connector_id=1, transaction_id="9", id_tag="04A1B2C3D4",
                                            protocol="ocpp1.6", started_at=T0, meter_start_wh=0)
    again, uid2 = services.session_open(pile="PILE-A1", connector_id=1, transaction_id="10", id_tag="04A1B2C3D4",
                                        protocol="ocpp1.6", started_at=T0 + dt.timedelta(hours=2), meter_start_wh=0)
    commit_pending()
    first, second = ChargingSession.objects.get(uid=uid), ChargingSession.objects.get(uid=uid2)
    assert first.id_tag == second.id_tag == id_tag_pseudonym("04A1B2C3D4", operator="OP-A")  # linked
    assert_never_on_ledger("04A1B2C3D4")


@pytest.mark.parametrize("id_tag", ["TAG-1", "04A1B2C3D4", "A" * 64, "0" * 63, "0" * 65, 7])
def test_the_contract_refuses_a_tag_that_is_not_a_pseudonym(world, id_tag):
    submission = node_submit(type="settlement.session_open", institution="OP-A", check=False, payload={
        "pile": "PILE-A1", "connector_id": 1, "transaction_id": "1", "id_tag": id_tag, "protocol": "ocpp1.6",
        "started_at": T0.isoformat(), "meter_start_wh": 0,
    })
    commit_pending()
    status, reason = CommittedTx.objects.values_list("status", "reason").get(tx_id=submission.tx_id)
    assert status == "rejected"
    assert reason == ("id_tag must be the operator node's pseudonym of the tag (64 lower-case hex characters) "
                      "or empty; the raw id tag never goes on the ledger")


def test_the_gateway_keeps_records_signing_the_raw_tag_off_the_ledger():
    from gateway.events import carries_id_tag

    from tests.ocmf import samples

    signed = samples.KEBA.replace('"IT":"NONE","ID":""', '"IT":"ISO14443","ID":"04A1B2C3D4"')
    assert signed != samples.KEBA
    assert carries_id_tag(signed, "04A1B2C3D4")
    assert not carries_id_tag(signed.replace("04A1B2C3D4", ""), "04A1B2C3D4")
    assert not carries_id_tag(signed, "")
    assert carries_id_tag('OCMF|{"ID":"04A1B2C3D4"', "04A1B2C3D4")  # unreadable: any mention counts
