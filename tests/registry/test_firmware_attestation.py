"""A pile's own signed statement of its firmware: only for itself, with its current key."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from ledger.chain.tx import Transaction
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import tx_submit
from registry.models import FirmwareAttestation
from tests.conftest import signing_key
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db


def attest(pile: str, key_seed: int, signer_pile: str | None = None, **payload):
    body = {"pile": pile, "firmware_version": "1.6.4", "image_sha256": hashlib.sha256(b"img").hexdigest(), **payload}
    return Transaction.create(chain_id=node.consortium().chain_id, type="registry.firmware_attest", payload=body,
                              signer=f"device:pile:{signer_pile or pile}", key=signing_key(key_seed),
                              nonce=secrets.token_hex(8))


def test_a_pile_attests_its_firmware_and_others_see_it_as_its_private_data(world, user_client):
    tx = attest("PILE-A1", 1)
    [result] = tx_submit(transactions=[tx.to_dict()])
    assert result.status == "pending"
    [block] = commit_all()
    row = FirmwareAttestation.objects.get()
    assert (row.pile.code, row.firmware_version, row.height, row.tx_id) == ("PILE-A1", "1.6.4", block.height, tx.id)
    assert "1.6.4" in user_client("a_manager").get("/registry/piles/PILE-A1/").content.decode()
    assert "1.6.4" not in user_client("b_manager").get("/registry/piles/PILE-A1/").content.decode()


@pytest.mark.parametrize("tx, reason", [
    (lambda: attest("PILE-A1", 2, signer_pile="PILE-B1"), "device pile:PILE-B1 may not report for pile:PILE-A1"),
    (lambda: attest("PILE-A1", 1, image_sha256="nothex"), "image_sha256"),
    (lambda: attest("PILE-A1", 1, extra="x"), "extra: Unknown field."),
])
def test_refusals_are_committed_with_their_reason(world, tx, reason):
    tx = tx()
    [result] = tx_submit(transactions=[tx.to_dict()])
    assert result.status == "pending", result
    commit_all()
    committed = CommittedTx.objects.get(tx_id=tx.id)
    assert committed.status == "rejected" and reason in committed.reason
    assert not FirmwareAttestation.objects.exists()


def test_a_node_may_not_speak_for_a_pile(world):
    from ledger.services import node_submit

    submission = node_submit(type="registry.firmware_attest", check=False,
                             payload={"pile": "PILE-A1", "firmware_version": "9", "image_sha256": "a" * 64})
    commit_all()
    assert CommittedTx.objects.get(tx_id=submission.tx_id).reason == "registry.firmware_attest may not be signed by a node"
    assert not FirmwareAttestation.objects.exists()
