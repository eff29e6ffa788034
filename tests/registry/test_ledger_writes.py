"""The registry's contracts as the chain runs them: authority re-checked at commit, races decided by
block order, light nodes leaving and their keys, the state root and audit over registry rows, and
bad payloads refused with a reason and nothing written.

Transactions are built by hand here (`node_submit(..., check=False)`, device-signed ones through
`tx_submit`), as a faulty or hostile node or device would send them, past the services' checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from ledger import selectors as ledger_selectors
from ledger.audit import audit_tables
from ledger.chain.block import BlockHeader
from ledger.chain.crypto import P256, SigningKey
from ledger.chain.encoding import EncodingError
from ledger.chain.lightclient import check_receipt
from ledger.chain.tx import Transaction, TxFormatError
from ledger.contracts import ContractRejected
from ledger.execution import node_state, replay_all
from ledger.models import Block, CommittedTx, Submission
from ledger.runtime import node
from ledger.services import node_submit, tx_submit
from ledger.state.rows import entry_bytes, owned_models
from registry import services
from registry.models import DeviceKey, FieldTestBox, Pile, Station, User
from registry.models.keys import fingerprint_of
from registry.selectors import device_key_valid_at, device_public_keys
from tests.conftest import signing_key
from tests.registry.ledger_checks import assert_applied, assert_rejected, counts
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db


def user(name: str) -> User:
    return User.objects.get(username=name)


def registry_state() -> dict[str, list[bytes]]:
    """Every registry row as the ledger hashes it: what "nothing written" compares."""
    return {
        model.__name__: sorted(entry_bytes(row) for row in model._base_manager.all())
        for model in owned_models() if model._meta.app_label == "registry"
    }


def device_tx(*, device: str, key: SigningKey, type: str = "registry.device_key_rotate", payload: dict, nonce: str):
    return Transaction.create(chain_id=node.consortium().chain_id, type=type, payload=payload,
                              signer=f"device:{device}", key=key, nonce=nonce)


def rotate_payload(old: SigningKey, new: SigningKey) -> dict:
    return {"fingerprint": fingerprint_of(old.public_key.raw), "public_key_hex": new.public_key.hex, "kind": "ed25519"}


def key_of(seed_key: SigningKey) -> DeviceKey:
    return DeviceKey.objects.get(fingerprint=fingerprint_of(seed_key.public_key.raw))


STATION = {
    "operator": "OP-A", "code": "ST-X", "name": "X", "address": "9 Xujiahui Road", "latitude": "31.19",
    "longitude": "121.43", "grid_area": "AREA-1",
}


# --- 1. authority, re-checked when the block commits ------------------------------------------------

def test_a_signer_without_authority_is_rejected_at_commit_and_changes_nothing(world):
    before, sent = registry_state(), counts()
    # The dry run refuses it at once...
    with pytest.raises(ContractRejected, match="OP-B may not act for OP-A's station"):
        node_submit(type="registry.station_create", payload=STATION, institution="OP-B")
    assert counts() == sent
    # ...and a node that skips it (or is hostile) gets the same verdict from the block.
    station = node_submit(type="registry.station_create", payload=STATION, institution="OP-B", check=False)
    pile = node_submit(type="registry.pile_register", institution="METRO", check=False, payload={
        "station": "ST-A", "code": "PILE-M1", "kind": "ac", "rated_power_kw": "7"})
    [block] = commit_all()
    assert (block.applied, block.rejected) == (0, 2)
    assert assert_rejected(station.tx_id) == "OP-B may not act for OP-A's station"
    assert assert_rejected(pile.tx_id) == "a metrology institution may not do registry.pile_register"
    for tx_id in (station.tx_id, pile.tx_id):
        submission = Submission.objects.get(tx_id=tx_id)
        assert (submission.status, submission.height) == ("rejected", block.height)
    assert registry_state() == before
    # The block still committed, and the state root moved on without the rejected writes.
    assert node_state().applied_height == block.height and audit_tables().ok


def test_an_owner_may_change_only_what_it_owns(world):
    before = registry_state()
    forged = [
        node_submit(type="registry.pile_update", institution="OP-B", check=False,
                    payload={"code": "PILE-A1", "changes": {"status": "retired"}}),
        node_submit(type="registry.pile_retire", institution="OP-B", check=False, payload={"code": "PILE-A1"}),
        node_submit(type="registry.grid_area_update", institution="GRID-2", check=False,
                    payload={"code": "AREA-1", "changes": {"name": "Mine now"}}),
        node_submit(type="registry.device_key_revoke", institution="OP-B", check=False,
                    payload={"fingerprint": fingerprint_of(signing_key(1).public_key.raw)}),
        # The regulator supervises; it registers nothing.
        node_submit(type="registry.grid_area_create", institution="REG", check=False,
                    payload={"owner": "REG", "code": "AREA-R", "name": "R", "capacity_kw": "1"}),
    ]
    commit_all()
    reasons = [assert_rejected(s.tx_id) for s in forged]
    assert reasons == [
        "OP-B may not act for OP-A's pile", "OP-B may not act for OP-A's pile", "GRID-2 may not act for GRID-1's grid area",
        "OP-B may not act for OP-A's device", "a regulator institution may not do registry.grid_area_create",
    ]
    assert registry_state() == before


# --- 2. a race decided by block order --------------------------------------------------------------

def test_two_pending_registrations_of_one_code_commit_once(world):
    first = services.pile_register(actor=user("a_manager"), station="ST-A", code="PILE-DUP", kind="ac",
                                   rated_power_kw=7, vendor="First")
    # The second passes its dry run too: the first is not committed yet.
    second = services.pile_register(
        actor=user("admin"), station="ST-A", code="PILE-DUP", kind="dc", rated_power_kw=60, vendor="Second",
        connectors=[{"connector_id": 1, "standard": "gbt_dc"}],
        keys=[{"public_key": signing_key(30).public_key.hex, "kind": "ed25519"}],
    )
    [block] = commit_all()
    assert (block.applied, block.rejected) == (1, 1)
    assert assert_applied(first.tx_id) == block.height
    reason = assert_rejected(second.tx_id, "already exists")
    assert reason.startswith("code:")
    assert [(p.vendor, p.kind, p.height) for p in Pile.objects.filter(code="PILE-DUP")] == [("First", "ac", block.height)]
    # Nothing of the loser's connectors or keys either.
    assert not Pile.objects.get(code="PILE-DUP").connectors.exists()
    assert not DeviceKey.objects.filter(public_key_hex=signing_key(30).public_key.hex).exists()


def test_a_registration_that_fails_late_in_the_block_leaves_nothing(world):
    """All or nothing at commit too: a pile whose key was taken by an earlier transaction of the same
    block is rolled back with its connectors."""
    shared = {"public_key": signing_key(31).public_key.hex, "kind": "ed25519"}
    first = services.pile_register(actor=user("a_manager"), station="ST-A", code="PILE-K1", kind="ac",
                                   rated_power_kw=7, keys=[shared])
    second = services.pile_register(actor=user("a_manager"), station="ST-A", code="PILE-K2", kind="ac",
                                    rated_power_kw=7, connectors=[{"connector_id": 1, "standard": "gbt_ac"}],
                                    keys=[shared])
    commit_all()
    assert_applied(first.tx_id)
    assert_rejected(second.tx_id, "keys:", "[0]", "already registered")
    assert not Pile.objects.filter(code="PILE-K2").exists()
    assert key_of(signing_key(31)).pile.code == "PILE-K1"
    assert audit_tables().ok


# --- 3. light nodes leaving, and their keys --------------------------------------------------------

def test_a_retired_pile_loses_every_key_from_that_block_on(world):
    pile = Pile.objects.get(code="PILE-A1")
    keys_before = {k.fingerprint: k.added_height for k in pile.keys.all()}
    assert len(keys_before) == 2  # the device key and the meter key
    submission = services.pile_retire(actor=user("a_manager"), pile=pile, reason="decommissioned")
    assert device_public_keys("pile:PILE-A1")  # still valid while the retirement is pending
    [block] = commit_all()
    assert assert_applied(submission.tx_id) == block.height
    pile.refresh_from_db()
    assert pile.status == "retired" and pile.height == block.height
    for key in pile.keys.all():
        assert (key.status, key.revoked_height, key.revoked_reason) == ("revoked", block.height, "decommissioned")
        assert key.revoked_at is not None and key.added_height == keys_before[key.fingerprint]
        assert device_key_valid_at(key, block.height - 1) and not device_key_valid_at(key, block.height + 1)
    assert device_public_keys("pile:PILE-A1") == []
    # The device can sign nothing more.
    tx = device_tx(device="pile:PILE-A1", key=signing_key(1), payload=rotate_payload(signing_key(1), signing_key(32)),
                   nonce="after-retirement")
    stranger = device_tx(device="pile:PILE-A1", key=signing_key(99),
                         payload=rotate_payload(signing_key(1), signing_key(32)), nonce="stranger")
    results = tx_submit(transactions=[tx.to_dict(), stranger.to_dict()])
    assert [(r.status, r.error) for r in results] == [
        ("invalid", f"signed with a key of pile:PILE-A1 that was revoked at block {block.height}"),
        ("invalid", "unknown device pile:PILE-A1 or no valid ed25519 key for it"),
    ]
    assert not Submission.objects.filter(tx_id__in=[tx.id, stranger.id]).exists()
    # A retired pile stays retired: no second retirement, no changes, no new keys.
    with pytest.raises(ValidationError) as info:
        services.pile_retire(actor=user("a_manager"), pile=pile)
    assert "status" in info.value.message_dict
    with pytest.raises(ValidationError):
        services.device_key_add(actor=user("a_manager"), pile=pile, public_key=signing_key(33).public_key.hex,
                                kind="ed25519")
    with pytest.raises(ValidationError):
        services.connector_add(actor=user("a_manager"), pile=pile, connector_id=2, standard="gbt_ac")


def test_a_device_rotates_its_own_key(world):
    old, new = signing_key(1), signing_key(34)
    old_key = key_of(old)
    # Before the rotation the pile signs something with its old key.
    attest = device_tx(device="pile:PILE-A1", key=old, type="registry.firmware_attest", nonce="fw-1",
                       payload={"pile": "PILE-A1", "firmware_version": "1.0", "image_sha256": "ab" * 32})
    assert tx_submit(transactions=[attest.to_dict()])[0].status == "pending"
    [attested] = commit_all()
    assert assert_applied(attest.id) == attested.height
    tx = device_tx(device="pile:PILE-A1", key=old, payload=rotate_payload(old, new), nonce="rotate-1")
    [result] = tx_submit(transactions=[tx.to_dict()])
    assert result.status == "pending", result
    [block] = commit_all()
    assert assert_applied(tx.id) == block.height
    old_key.refresh_from_db()
    assert (old_key.status, old_key.revoked_height, old_key.revoked_reason) == ("revoked", block.height, "rotated")
    new_key = key_of(new)
    assert (new_key.status, new_key.purpose, new_key.added_height, new_key.pile.code) == (
        "active", "device", block.height, "PILE-A1")
    assert [k.hex for k in device_public_keys("pile:PILE-A1")] == [new.public_key.hex]

    # The old key signs nothing more...
    again = device_tx(device="pile:PILE-A1", key=old, payload=rotate_payload(old, signing_key(35)), nonce="rotate-2")
    [refused] = tx_submit(transactions=[again.to_dict()])
    assert (refused.status, refused.error) == (
        "invalid", f"signed with a key of pile:PILE-A1 that was revoked at block {block.height}")
    # ...and the new one does.
    onward = device_tx(device="pile:PILE-A1", key=new, payload=rotate_payload(new, signing_key(36)), nonce="rotate-3")
    assert tx_submit(transactions=[onward.to_dict()])[0].status == "pending"
    commit_all()
    assert_applied(onward.id)
    assert key_of(signing_key(36)).status == "active" and key_of(new).status == "revoked"

    # What the old key signed stays on the chain, provable and verifiable against it, and the key
    # was valid at that height.
    old_key.refresh_from_db()
    for signed, height in ((attest, attested.height), (tx, block.height)):
        committed = CommittedTx.objects.get(tx_id=signed.id)
        assert (committed.status, committed.block.height, committed.signer) == ("applied", height, "device:pile:PILE-A1")
        receipt = ledger_selectors.tx_receipt(signed.id)
        assert receipt["status"] == "applied" and receipt["block_height"] == height
        assert check_receipt(BlockHeader.from_dict(receipt["header"]), receipt["receipt"], signed)
        assert Transaction.from_dict(committed.body).verify(old_key.public_key())
        assert not Transaction.from_dict(committed.body).verify(key_of(new).public_key())
    assert device_key_valid_at(old_key, attested.height)
    assert not device_key_valid_at(old_key, block.height + 1)


def test_a_key_was_valid_in_the_block_where_it_signed_its_own_rotation(world):
    """A device rotates a key by signing with it, in the very block that revokes it: the key was
    valid for that transaction, and device_key_valid_at must say so for its height."""
    old = signing_key(1)
    added = key_of(old).added_height
    tx = device_tx(device="pile:PILE-A1", key=old, payload=rotate_payload(old, signing_key(37)), nonce="rotate-v")
    tx_submit(transactions=[tx.to_dict()])
    [block] = commit_all()
    assert_applied(tx.id)
    old_key = key_of(old)
    assert device_key_valid_at(old_key, added) and not device_key_valid_at(old_key, added - 1)
    assert not device_key_valid_at(old_key, block.height + 1)
    assert device_key_valid_at(old_key, CommittedTx.objects.get(tx_id=tx.id).block.height), (
        "the key signed an applied transaction of this block", old_key.revoked_height)


def test_a_device_may_not_rotate_another_devices_key(world):
    victim = key_of(signing_key(1))
    before = registry_state()
    # PILE-B1 signs with its own valid key, for PILE-A1's key: the signature is fine, the act is not.
    tx = device_tx(device="pile:PILE-B1", key=signing_key(2), payload=rotate_payload(signing_key(1), signing_key(38)),
                   nonce="hijack")
    assert tx_submit(transactions=[tx.to_dict()])[0].status == "pending"
    commit_all()
    assert assert_rejected(tx.id) == "device pile:PILE-B1 may not rotate a key of pile:PILE-A1"
    assert registry_state() == before and key_of(signing_key(1)).status == "active"
    # Nor may it pose as PILE-A1: its key is not PILE-A1's.
    posing = device_tx(device="pile:PILE-A1", key=signing_key(2), payload=rotate_payload(signing_key(1), signing_key(38)),
                       nonce="posing")
    [result] = tx_submit(transactions=[posing.to_dict()])
    assert (result.status, result.error) == ("invalid", "bad signature")
    # A test box cannot act for a pile either, and a device cannot do a node's work.
    box = device_tx(device="box:TB-1", key=signing_key(3), payload=rotate_payload(signing_key(1), signing_key(38)),
                    nonce="box")
    revoke = device_tx(device="pile:PILE-A1", key=signing_key(1), type="registry.device_key_revoke",
                       payload={"fingerprint": victim.fingerprint}, nonce="self-revoke")
    assert [r.status for r in tx_submit(transactions=[box.to_dict(), revoke.to_dict()])] == ["pending", "pending"]
    commit_all()
    assert assert_rejected(box.id) == "device box:TB-1 may not rotate a key of pile:PILE-A1"
    assert assert_rejected(revoke.id) == "registry.device_key_revoke may not be signed by a device"
    assert registry_state() == before


def test_a_key_revoked_earlier_in_the_same_block_signs_nothing_after(world):
    key = signing_key(1)
    revocation = services.device_key_revoke(actor=user("a_manager"), device_key=key_of(key), reason="stolen")
    # Signed with the key while its revocation is still pending: the node accepts it for now.
    tx = device_tx(device="pile:PILE-A1", key=key, payload=rotate_payload(key, signing_key(39)), nonce="thief")
    assert tx_submit(transactions=[tx.to_dict()])[0].status == "pending"
    [block] = commit_all()
    assert [t["type"] for t in Block.objects.get(height=block.height).txs] == [
        "registry.device_key_revoke", "registry.device_key_rotate"]
    assert assert_applied(revocation.tx_id) == block.height
    assert_rejected(tx.id, "device signature not valid at this block")
    stolen = key_of(key)
    assert (stolen.status, stolen.revoked_height, stolen.revoked_reason) == ("revoked", block.height, "stolen")
    assert not DeviceKey.objects.filter(public_key_hex=signing_key(39).public_key.hex).exists()


# --- 4. test boxes ---------------------------------------------------------------------------------

def test_a_test_box_joins_with_keys_and_leaves_with_them(world):
    metro = user("metro_manager")
    expires = date.today() + timedelta(days=365)
    p256 = SigningKey.generate(P256).public_key
    submission = services.testbox_register(
        actor=metro, owner="METRO", serial="TB-9", model_name="EVT-9", certificate_no="C-9",
        certificate_expires_on=expires,
        keys=[{"public_key": signing_key(40).public_key.hex, "kind": "ed25519", "label": "main"},
              {"public_key": p256.to_pem()}],
    )
    [joined] = commit_all()
    assert assert_applied(submission.tx_id) == joined.height
    box = FieldTestBox.objects.get(serial="TB-9")
    assert (box.owner.code, box.status, box.height, box.certificate_expires_on) == ("METRO", "active", joined.height, expires)
    assert sorted((k.kind, k.added_height, k.status) for k in box.keys.all()) == [
        ("ed25519", joined.height, "active"), ("p256", joined.height, "active")]
    assert {k.hex for k in device_public_keys("box:TB-9")} == {signing_key(40).public_key.hex, p256.hex}
    # The box signs as itself.
    tx = device_tx(device="box:TB-9", key=signing_key(40), payload=rotate_payload(signing_key(40), signing_key(41)),
                   nonce="box-rotate")
    assert tx_submit(transactions=[tx.to_dict()])[0].status == "pending"
    commit_all()
    assert_applied(tx.id)
    assert key_of(signing_key(41)).test_box == box

    retired = services.testbox_retire(actor=metro, test_box=box, reason="end of service")
    [left] = commit_all()
    assert assert_applied(retired.tx_id) == left.height
    box.refresh_from_db()
    assert box.status == "retired" and box.height == left.height
    assert {(k.status, k.revoked_height) for k in box.keys.filter(revoked_reason="end of service")} == {
        ("revoked", left.height)}
    assert box.keys.filter(status="active").count() == 0 and device_public_keys("box:TB-9") == []
    with pytest.raises(ValidationError) as info:
        services.testbox_update(actor=metro, test_box=box, data={"certificate_no": "C-10"})
    assert "status" in info.value.message_dict


def test_another_institute_may_not_change_a_test_box(world):
    box = FieldTestBox.objects.get(serial="TB-1")
    other = user("metro2_manager")
    before, state = counts(), registry_state()
    for call in (
        lambda: services.testbox_update(actor=other, test_box=box, data={"certificate_no": "FORGED"}),
        lambda: services.testbox_retire(actor=other, test_box=box),
        lambda: services.device_key_add(actor=other, test_box=box, public_key=signing_key(42).public_key.hex,
                                        kind="ed25519"),
        lambda: services.device_key_revoke(actor=other, device_key=box.keys.get()),
    ):
        with pytest.raises((PermissionDenied, ValidationError)):
            call()
    assert counts() == before
    # Signed by METRO-2's node all the same: the contracts refuse at commit.
    forged = [
        node_submit(type="registry.testbox_update", institution="METRO-2", check=False,
                    payload={"serial": "TB-1", "changes": {"certificate_no": "FORGED"}}),
        node_submit(type="registry.testbox_retire", institution="METRO-2", check=False, payload={"serial": "TB-1"}),
        node_submit(type="registry.device_key_add", institution="METRO-2", check=False,
                    payload={"test_box": "TB-1", "kind": "ed25519", "public_key_hex": signing_key(42).public_key.hex}),
    ]
    commit_all()
    assert [assert_rejected(s.tx_id) for s in forged] == [
        "METRO-2 may not act for METRO's test box", "METRO-2 may not act for METRO's test box",
        "METRO-2 may not act for METRO's device"]
    assert registry_state() == state


# --- 5. state root and audit -----------------------------------------------------------------------

def test_registry_rows_are_in_the_state_root_and_the_audit(world):
    """Only registry data exists here (replay_all clears every ledger-owned table)."""
    tip = Block.objects.order_by("-height").first()
    assert node_state().state_root == tip.state_root_after and node_state().applied_height == tip.height
    assert audit_tables().ok
    committed = registry_state()
    assert all(committed[name] for name in ("GridArea", "Station", "Pile", "Connector", "FieldTestBox", "DeviceKey"))

    with connection.cursor() as cursor:  # behind the ledger's back
        cursor.execute("UPDATE registry_pile SET rated_power_kw = 999 WHERE code = 'PILE-A1'")
    result = audit_tables()
    assert not result.ok and result.height == tip.height
    assert node_state().diverged

    assert replay_all(role_of=node.role_of) == tip.height
    assert registry_state() == committed
    assert Pile.objects.get(code="PILE-A1").rated_power_kw == 7
    assert node_state().state_root == Block.objects.get(height=tip.height).state_root_after
    assert audit_tables().ok and not node_state().diverged


def test_the_state_root_moves_with_every_registry_write(world):
    roots = [node_state().state_root]
    services.station_update(actor=user("a_manager"), station=Station.objects.get(code="ST-A"), data={"name": "A2"})
    commit_all()
    roots.append(node_state().state_root)
    # A block of rejections only still moves the root (it commits to the height), but writes nothing.
    before = registry_state()
    node_submit(type="registry.station_update", institution="OP-B", check=False,
                payload={"code": "ST-A", "changes": {"name": "B"}})
    commit_all()
    roots.append(node_state().state_root)
    assert len(set(roots)) == 3 and registry_state() == before and audit_tables().ok


# --- 6. bad payloads -------------------------------------------------------------------------------

FP_A1 = fingerprint_of(signing_key(1).public_key.raw)
GOOD_HEX = signing_key(43).public_key.hex
LATER = (date.today() + timedelta(days=100)).isoformat()

# (type, signing institution, payload, field the reason names)
BAD_PAYLOADS = [
    ("registry.grid_area_create", "GRID-1",
     {"owner": "GRID-1", "code": "AREA-9", "name": "N", "capacity_kw": "10", "colour": "red"}, "colour"),
    ("registry.grid_area_create", "GRID-1", {"owner": "GRID-1", "code": "AREA-9", "capacity_kw": "10"}, "name"),
    ("registry.grid_area_create", "GRID-1",
     {"owner": "GRID-1", "code": "AREA-9", "name": ["N"], "capacity_kw": "10"}, "name"),
    ("registry.grid_area_create", "GRID-1",
     {"owner": "GRID-1", "code": "AREA-9", "name": "N", "capacity_kw": True}, "capacity_kw"),
    ("registry.grid_area_create", "GRID-1",
     {"owner": "GRID-1", "code": "AREA-9", "name": "N", "capacity_kw": "NaN"}, "capacity_kw"),
    ("registry.grid_area_update", "GRID-1", {"code": "AREA-1"}, "changes"),
    ("registry.grid_area_update", "GRID-1", {"code": "AREA-1", "changes": ["name"]}, "changes"),
    ("registry.grid_area_update", "GRID-1", {"code": "AREA-1", "changes": {"name": {"x": 1}}}, "name"),
    ("registry.grid_area_update", "GRID-1", {"code": "AREA-1", "changes": {"height": 99}}, "height"),
    ("registry.station_create", "OP-A", {**STATION, "latitude": ["31.19"]}, "latitude"),
    ("registry.station_create", "OP-A", {**STATION, "code": 17}, "code"),
    ("registry.station_create", "OP-A", {k: v for k, v in STATION.items() if k != "grid_area"}, "grid_area"),
    ("registry.station_update", "OP-A", {"code": "ST-A", "changes": {"operator": "OP-B"}}, "operator"),
    ("registry.station_update", "OP-A", {"code": "ST-A", "changes": {"secret": "x"}}, "secret"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7", "connectors": "one"}, "connectors"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7", "connectors": [{"connector_id": 1}]},
     "connectors"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7",
      "keys": [{"kind": "ed25519", "public_key_hex": "zz" * 32}]}, "keys"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7",
      "keys": [{"kind": "ed25519", "public_key_hex": "ab" * 31}]}, "keys"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": ["ac"], "rated_power_kw": "7"}, "kind"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7", "commissioned_on": "2025-13-01"},
     "commissioned_on"),
    ("registry.pile_update", "OP-A", {"code": "PILE-A1", "changes": {"rated_power_kw": [7]}}, "rated_power_kw"),
    ("registry.pile_update", "OP-A", {"code": "PILE-A1", "changes": {"station": "ST-B"}}, "station"),
    ("registry.pile_update", "OP-A", {"code": "PILE-A1", "changes": {"accuracy_class": "first"}}, "accuracy_class"),
    ("registry.pile_register", "OP-A",
     {"station": "ST-A", "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7", "public": "false"}, "public"),
    ("registry.pile_update", "OP-A", {"code": "PILE-A1", "changes": {"public": 0}}, "public"),
    ("registry.pile_retire", "OP-A", {}, "code"),
    ("registry.pile_retire", "OP-A", {"code": "PILE-A1", "reason": ["old"]}, "reason"),
    ("registry.connector_add", "OP-A", {"pile": "PILE-A1", "connector_id": "two", "standard": "gbt_ac"}, "connector_id"),
    ("registry.connector_add", "OP-A", {"pile": "PILE-A1", "connector_id": 2}, "standard"),
    ("registry.testbox_register", "METRO",
     {"owner": "METRO", "serial": "TB-Z", "model_name": "M", "certificate_no": "C", "certificate_expires_on": 20301231},
     "certificate_expires_on"),
    ("registry.testbox_register", "METRO",
     {"owner": "METRO", "serial": "TB-Z", "model_name": "M", "certificate_no": "C", "certificate_expires_on": "2030-02-30"},
     "certificate_expires_on"),
    ("registry.testbox_register", "METRO",
     {"owner": "METRO", "serial": "TB-Z", "model_name": "M", "certificate_no": "C", "certificate_expires_on": LATER,
      "keys": [{"kind": "p256", "public_key_hex": "04" + "11" * 64}]}, "keys"),
    ("registry.testbox_update", "METRO", {"serial": "TB-1", "changes": {"serial": "TB-11"}}, "serial"),
    ("registry.testbox_retire", "METRO", {"serial": "TB-1", "when": "now"}, "when"),
    ("registry.device_key_add", "OP-A", {"pile": "PILE-A1", "kind": "ed25519", "public_key_hex": "not hex"}, "public_key"),
    ("registry.device_key_add", "OP-A", {"pile": "PILE-A1", "kind": "rsa", "public_key_hex": GOOD_HEX}, "kind"),
    ("registry.device_key_add", "OP-A", {"pile": "PILE-A1", "public_key_hex": GOOD_HEX}, "kind"),
    ("registry.device_key_add", "OP-A", {"kind": "ed25519", "public_key_hex": GOOD_HEX}, "pile"),
    ("registry.device_key_add", "OP-A",
     {"pile": "PILE-A1", "kind": "ed25519", "public_key_hex": GOOD_HEX, "purpose": "everything"}, "purpose"),
    ("registry.device_key_revoke", "OP-A", {"reason": "lost"}, "fingerprint"),
    ("registry.device_key_revoke", "OP-A", {"fingerprint": FP_A1, "reason": {"why": "lost"}}, "reason"),
    ("registry.device_key_rotate", "OP-A", {"fingerprint": FP_A1, "kind": "ed25519", "public_key_hex": "00" * 32},
     "public_key"),
    ("registry.device_key_rotate", "OP-A", {"fingerprint": FP_A1, "public_key_hex": GOOD_HEX}, "kind"),
    ("registry.device_key_rotate", "OP-A", {"fingerprint": "f" * 64, "kind": "ed25519", "public_key_hex": GOOD_HEX},
     "fingerprint"),
]


# Device-signed: (type, payload, field), signed by PILE-A1's device key.
DEVICE_BAD_PAYLOADS = [
    ("registry.firmware_attest", {"pile": "PILE-A1", "firmware_version": "2.0", "image_sha256": "AB" * 32},
     "image_sha256"),
    ("registry.firmware_attest", {"pile": "PILE-A1", "firmware_version": "2.0"}, "image_sha256"),
    ("registry.firmware_attest", {"pile": "PILE-A1", "firmware_version": ["2.0"], "image_sha256": "ab" * 32},
     "firmware_version"),
    ("registry.firmware_attest",
     {"pile": "PILE-A1", "firmware_version": "2.0", "image_sha256": "ab" * 32, "signed_by": "vendor"}, "signed_by"),
    ("registry.device_key_rotate", {"fingerprint": FP_A1, "kind": "ed25519", "public_key_hex": "xyz"}, "public_key"),
]


def test_every_registry_contract_is_covered():
    from ledger.contracts import contracts

    registry_types = {name for name in contracts.types() if name.startswith("registry.")}
    assert registry_types == {t for t, _, _, _ in BAD_PAYLOADS} | {t for t, _, _ in DEVICE_BAD_PAYLOADS}


@pytest.mark.parametrize("type_, institution, payload, field", BAD_PAYLOADS,
                         ids=[f"{t.split('.')[1]}-{f}-{i}" for i, (t, _, _, f) in enumerate(BAD_PAYLOADS)])
def test_a_bad_payload_is_refused_with_its_field_and_writes_nothing(world, type_, institution, payload, field):
    before, state = counts(), registry_state()
    with pytest.raises(ValidationError) as info:  # the dry run names the field at once
        node_submit(type=type_, payload=payload, institution=institution)
    assert field in info.value.message_dict, info.value.message_dict
    assert counts() == before
    # Sent anyway, the block refuses it with the same field in its reason.
    submission = node_submit(type=type_, payload=payload, institution=institution, check=False)
    [block] = commit_all()
    assert (block.applied, block.rejected) == (0, 1)
    reason = assert_rejected(submission.tx_id)
    assert reason.startswith(f"{field}:") or f"; {field}:" in reason, reason
    assert "contract_error" not in reason
    assert registry_state() == state


@pytest.mark.parametrize("code", ["st-a", "ſt-a", "ST-A ", "ＳＴ-Ａ"])
def test_contracts_name_rows_by_their_exact_code(world, code):
    """Case folding is the database's: ASCII only on SQLite, all of Unicode on PostgreSQL (the long s
    "ſ" folds to "S" there). A contract matches a code exactly, so every node finds the same row, or
    none; people's lookups outside contracts may still ignore case."""
    state = registry_state()
    for type_, institution, payload in (
        ("registry.station_update", "OP-A", {"code": code, "changes": {"name": "Renamed"}}),
        ("registry.pile_register", "OP-A", {"station": code, "code": "PILE-Z", "kind": "ac", "rated_power_kw": "7"}),
    ):
        submission = node_submit(type=type_, payload=payload, institution=institution, check=False)
        commit_all()
        field = "code" if type_ == "registry.station_update" else "station"
        assert assert_rejected(submission.tx_id) == f"{field}: Unknown station “{code}”."
    assert registry_state() == state
    from registry.services.common import resolve

    assert resolve(Station, "st-a", field="station").code == "ST-A"  # a person's lookup still ignores case


def test_non_json_values_cannot_be_signed_or_sent(world):
    """A float (or anything else without a canonical encoding) never becomes a transaction."""
    with pytest.raises((TxFormatError, EncodingError), match="float"):
        node_submit(type="registry.grid_area_create", institution="GRID-1", check=False,
                    payload={"owner": "GRID-1", "code": "AREA-F", "name": "F", "capacity_kw": 10.5})
    good = device_tx(device="pile:PILE-A1", key=signing_key(1), payload=rotate_payload(signing_key(1), signing_key(44)),
                     nonce="float").to_dict()
    floated = {**good, "payload": {**good["payload"], "label": 1.5}}
    not_an_object = {**good, "payload": ["fingerprint"]}
    results = tx_submit(transactions=[floated, not_an_object])
    assert [r.status for r in results] == ["invalid", "invalid"]
    assert "float" in results[0].error and "payload must be an object" in results[1].error
    assert not Submission.objects.filter(status="pending").exists()


def test_bad_device_payloads_are_rejected_with_their_field(world):
    state = registry_state()
    txs = [device_tx(device="pile:PILE-A1", key=signing_key(1), type=t, payload=p, nonce=f"bad-{i}")
           for i, (t, p, _) in enumerate(DEVICE_BAD_PAYLOADS)]
    assert {r.status for r in tx_submit(transactions=[t.to_dict() for t in txs])} == {"pending"}
    [block] = commit_all()
    assert (block.applied, block.rejected) == (0, len(txs))
    for tx, (_, _, field) in zip(txs, DEVICE_BAD_PAYLOADS):
        reason = assert_rejected(tx.id)
        assert reason.startswith(f"{field}:") and "contract_error" not in reason, reason
    assert registry_state() == state and key_of(signing_key(1)).status == "active"


def test_a_device_reports_only_for_itself(world):
    tx = device_tx(device="pile:PILE-B1", key=signing_key(2), type="registry.firmware_attest", nonce="fw-other",
                   payload={"pile": "PILE-A1", "firmware_version": "6.6.6", "image_sha256": "cd" * 32})
    own = device_tx(device="pile:PILE-B1", key=signing_key(2), type="registry.firmware_attest", nonce="fw-own",
                    payload={"pile": "PILE-B1", "firmware_version": "2.1", "image_sha256": "cd" * 32})
    tx_submit(transactions=[tx.to_dict(), own.to_dict()])
    [block] = commit_all()
    assert assert_rejected(tx.id) == "device pile:PILE-B1 may not report for pile:PILE-A1"
    assert assert_applied(own.id) == block.height
    assert not Pile.objects.get(code="PILE-A1").attestations.exists()
    assert [(a.firmware_version, a.height, a.tx_id) for a in Pile.objects.get(code="PILE-B1").attestations.all()] == [
        ("2.1", block.height, own.id)]
    # A node cannot put words in a device's mouth: refused by the dry run, and by the block.
    words = {"pile": "PILE-A1", "firmware_version": "1", "image_sha256": "cd" * 32}
    before = counts()
    with pytest.raises(ContractRejected):
        node_submit(type="registry.firmware_attest", institution="OP-A", payload=words)
    assert counts() == before
    forged = node_submit(type="registry.firmware_attest", institution="OP-A", payload=words, check=False)
    commit_all()
    assert assert_rejected(forged.tx_id) == "registry.firmware_attest may not be signed by a node"
    assert not Pile.objects.get(code="PILE-A1").attestations.exists()


# --- 7. private fields on the ledger's own endpoints -----------------------------------------------

def test_the_ledger_api_does_not_show_private_registry_fields_to_others(world, api_client):
    """registry.access hides ST-A's contact and PILE-A1's serial number from OP-B's staff; the
    transactions that wrote them must not hand them over through the ledger's endpoints either."""
    client = api_client("b_manager")
    assert "contact_name" not in client.get("/api/stations/ST-A/").json()  # the registry's own rule
    shown = []
    for block in Block.objects.order_by("height"):
        response = client.get(f"/api/ledger/blocks/{block.height}/")
        assert response.status_code == 200
        shown += [(block.height, secret) for secret in ("Alice Private", "+86 21 0000 0001", "SN-A-SECRET", "VendorAlpha")
                  if secret in response.content.decode()]
    assert shown == [], shown
