"""The submission API: signed transactions from devices, and {type, payload} signed by the node for
an authenticated manager's institution; each refused clearly when it must be."""

from __future__ import annotations

import secrets

import pytest

from ledger.chain.crypto import SigningKey
from ledger.chain.tx import Transaction
from ledger.models import CommittedTx, Submission
from ledger.runtime import node
from tests.conftest import signing_key
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db

ANCHOR = {"type": "ledger.anchor", "payload": {"kind": "telemetry", "root": "ab" * 32, "count": 5}}


def device_tx(key: SigningKey, signer: str = "device:pile:PILE-A1", **payload) -> dict:
    old = signing_key(1).public_key
    body = {"fingerprint": __import__("hashlib").sha256(old.raw).hexdigest(),
            "public_key_hex": SigningKey.from_seed(b"\x77" * 32).public_key.hex, "kind": "ed25519", **payload}
    return Transaction.create(chain_id=node.consortium().chain_id, type="registry.device_key_rotate", payload=body,
                              signer=signer, key=key, nonce=secrets.token_hex(8)).to_dict()


def test_a_manager_has_the_node_sign_for_the_institution(world, api_client):
    response = api_client("a_manager").post("/api/ledger/transactions/", ANCHOR, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and body["transaction"].endswith(f"/{body['tx_id']}/")
    commit_all()
    receipt = api_client("a_manager").get(body["transaction"]).json()
    assert receipt["status"] == "applied" and receipt["signer"] == "node:OP-A" and receipt["receipt"]["height"] >= 1


@pytest.mark.parametrize("username, code", [("a_viewer", 403), ("reg_manager", 400), (None, 401)])
def test_on_behalf_submission_is_refused_without_authority(world, api_client, username, code):
    before = Submission.objects.count()
    response = api_client(username).post("/api/ledger/transactions/", ANCHOR, format="json")
    assert response.status_code == code, response.content
    if code == 400:  # the regulator's node may not anchor: the contract says so before anything is sent
        assert "a regulator institution may not do ledger.anchor" in str(response.json())
    assert Submission.objects.count() == before


@pytest.mark.parametrize("body, message", [
    ({"type": "ledger.anchor", "payload": "x"}, "send"),
    ({"type": "ledger.anchor", "payload": {}, "extra": 1}, "send"),
    ({"type": "Not A Type", "payload": {}}, "malformed"),
    ({"type": "ledger.anchor", "payload": {"kind": "x", "root": "zz", "count": 1}}, "root must be"),
    # Every node stores the transaction: PostgreSQL cannot hold U+0000 where SQLite can.
    ({"type": "ledger.anchor", "payload": {"kind": "document", "root": "ab" * 32, "count": 1,
                                            "reference": "nul\u0000here"}}, "U+0000"),
])
def test_on_behalf_submission_refuses_bad_input(world, api_client, body, message):
    response = api_client("a_manager").post("/api/ledger/transactions/", body, format="json")
    assert response.status_code == 400 and message in str(response.json()), response.content
    assert not Submission.objects.exists() or Submission.objects.filter(type=body["type"]).count() == 0


def test_device_signed_transactions_are_checked_against_registered_keys(world, api_client):
    client = api_client("a_manager")
    forged = device_tx(SigningKey.generate())
    unknown = device_tx(signing_key(1), signer="device:pile:NO-SUCH-PILE")
    good = device_tx(signing_key(1))
    response = client.post("/api/ledger/transactions/", [forged, unknown, good, good], format="json")
    assert response.status_code == 202
    results = response.json()
    assert results[0]["status"] == "invalid" and results[0]["error"] == "bad signature"
    assert results[1]["status"] == "invalid" and "unknown device" in results[1]["error"]
    assert results[2]["status"] == results[3]["status"] == "pending" and results[2]["tx_id"] == results[3]["tx_id"]
    commit_all()
    assert CommittedTx.objects.get(tx_id=results[2]["tx_id"]).status == "applied"
    # The rotated key signs nothing more; the transaction it signed keeps its receipt.
    again = client.post("/api/ledger/transactions/", device_tx(signing_key(1), label="again"), format="json")
    assert again.status_code == 400 and "revoked at block" in str(again.json())
    assert client.get(f"/api/ledger/transactions/{results[2]['tx_id']}/").json()["status"] == "applied"
