"""SPV: a light node decides finality from headers, certificates and a receipt, trusting no one node."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.chain.block import (
    ZERO_HASH,
    Block,
    BlockHeader,
    CommitCertificate,
    Validator,
    ValidatorSet,
    commit_vote_bytes,
)
from ledger.chain.crypto import SigningKey
from ledger.chain.lightclient import (
    Anchor,
    LightClient,
    Receipt,
    Verdict,
    check_receipt,
    make_receipt,
    receipts_for_block,
    verify_header_chain,
    verify_receipt,
)
from ledger.chain.tx import Transaction

CHAIN = "pilechain-test"
KEYS = {f"inst{i}": SigningKey.from_seed(bytes([i + 11]) * 32) for i in range(4)}
VALIDATORS = ValidatorSet(CHAIN, tuple(Validator(vid, k.public_key) for vid, k in KEYS.items()))
QUORUM = ("inst0", "inst1", "inst3")
PILE = SigningKey.from_seed(b"\x21" * 32)


def certify(header, view=None, signers=QUORUM, keys=KEYS):
    view = header.view if view is None else view
    return CommitCertificate.build(header, view, {s: keys[s] for s in signers})


def make_chain(tx_counts, chain=CHAIN, salt="", keys=KEYS):
    """Genesis plus one committed block per entry of tx_counts."""
    genesis = Block.create(
        chain_id=chain, height=0, prev_hash=ZERO_HASH, timestamp_ms=0, txs=[], state_root="00" * 32, view=0, proposer="inst0"
    )
    blocks = [genesis]
    for height, count in enumerate(tx_counts, start=1):
        txs = [
            Transaction.create(
                chain_id=chain, type="monitoring.reading_anchor", payload={"h": height, "i": i, "s": salt},
                signer="device:pile-1", key=PILE, nonce=f"{height}-{i}",
            )
            for i in range(count)
        ]
        b = Block.create(
            chain_id=chain, height=height, prev_hash=blocks[-1].hash(), timestamp_ms=1000 * height, txs=txs,
            state_root=f"{height % 256:02x}" * 32, view=height // 3, proposer=f"inst{(height // 3) % 4}",
        )
        blocks.append(b.with_certificate(certify(b.header, keys=keys)))
    return blocks


def pairs(blocks):
    return [(b.header, b.certificate) for b in blocks]


CHAIN5 = make_chain([3, 0, 7, 1, 4])
GENESIS = Anchor.of(CHAIN5[0].header)


def test_receipt_for_every_transaction_is_final():
    for b in CHAIN5[1:]:
        for r in receipts_for_block(b):
            v = verify_receipt(VALIDATORS, GENESIS, pairs(CHAIN5[1:]), r)
            assert v.ok and v.code == "ok" and bool(v)
    tx = CHAIN5[3].txs[4]
    r = make_receipt(CHAIN5[3], Transaction.from_dict(tx).id)
    assert verify_receipt(VALIDATORS, GENESIS, pairs(CHAIN5[1:]), r.to_dict(), tx).ok
    # The anchor header may lead the list, and dicts work as well as objects.
    as_dicts = [(h.to_dict(), c.to_dict() if c else None) for h, c in pairs(CHAIN5)]
    assert verify_receipt(VALIDATORS, GENESIS, as_dicts, r).ok


@settings(max_examples=25, deadline=None, database=None)
@given(st.lists(st.integers(0, 9), min_size=1, max_size=6), st.data())
def test_property_random_chains(tx_counts, data):
    blocks = make_chain(tx_counts, salt="p")
    client = LightClient(VALIDATORS, blocks[0].header)
    assert client.extend(pairs(blocks[1:])).ok
    assert client.tip_height == len(tx_counts) and client.tip_hash == blocks[-1].hash()
    height = data.draw(st.sampled_from([h for h, c in enumerate(tx_counts, 1) if c] or [None]))
    if height is None:
        return
    b = blocks[height]
    index = data.draw(st.integers(0, len(b.txs) - 1))
    receipt = make_receipt(b, index)
    assert client.verify_receipt(receipt, b.txs[index]).ok
    # the same receipt, pointed anywhere else, fails
    for change in [dict(index=index + 1), dict(tx_count=receipt.tx_count + 1), dict(height=height - 1 if height > 1 else height + 1)]:
        moved = dataclasses.replace(receipt, **change)
        if moved.height <= client.tip_height:
            assert not client.verify_receipt(moved).ok


def test_forged_header_with_a_borrowed_certificate():
    b = CHAIN5[1]
    forged = dataclasses.replace(b.header, tx_root="ee" * 32)
    v = verify_header_chain(VALIDATORS, GENESIS, [(forged, b.certificate)])
    assert not v.ok and v.code == "bad_certificate"
    for field, value in [("state_root", "ff" * 32), ("timestamp_ms", 1), ("tx_count", 4), ("proposer", "inst2")]:
        v = verify_header_chain(VALIDATORS, GENESIS, [(dataclasses.replace(b.header, **{field: value}), b.certificate)])
        assert not v.ok and v.code == "bad_certificate", field


def test_certificate_failures():
    header = CHAIN5[1].header
    good = CHAIN5[1].certificate

    def check(cert):
        return verify_header_chain(VALIDATORS, GENESIS, [(header, cert)])

    assert check(good).ok
    assert check(None).code == "bad_certificate"
    assert check(certify(header, signers=("inst0", "inst1"))).code == "bad_certificate"  # too few
    sigs = good.signatures
    assert check(CommitCertificate(good.view, (sigs[0], sigs[0], sigs[0], sigs[1]))).code == "bad_certificate"
    outsiders = {f"x{i}": SigningKey.from_seed(bytes([200 + i]) * 32) for i in range(3)}
    assert check(certify(header, signers=tuple(outsiders), keys=outsiders)).code == "bad_certificate"
    # a quorum for another block at the same height
    other = make_chain([3], salt="other")[1]
    assert check(other.certificate).code == "bad_certificate"
    # signatures over another view or height for this very header
    assert check(CommitCertificate(header.view, certify(header, view=header.view + 1).signatures)).code == "bad_certificate"
    msg = commit_vote_bytes(CHAIN, header.view, header.height + 1, header.hash())
    wrong_height = CommitCertificate(header.view, tuple((s, KEYS[s].sign(msg).hex()) for s in QUORUM))
    assert check(wrong_height).code == "bad_certificate"
    # the same consortium keys certify a block of another chain: not ours
    foreign = make_chain([3], chain="other-chain")
    v = verify_header_chain(VALIDATORS, GENESIS, pairs(foreign[1:]))
    assert not v.ok and v.code == "wrong_chain"
    msg = commit_vote_bytes("other-chain", header.view, header.height, header.hash())
    assert check(CommitCertificate(header.view, tuple((s, KEYS[s].sign(msg).hex()) for s in QUORUM))).code == "bad_certificate"


def test_a_certificate_in_a_later_view_is_accepted():
    """After a view change the block is re-proposed unchanged and committed in the new view."""
    header = CHAIN5[1].header
    assert verify_header_chain(VALIDATORS, GENESIS, [(header, certify(header, view=header.view + 2))]).ok


def test_broken_links_and_gaps():
    b1, b2, b3 = CHAIN5[1], CHAIN5[2], CHAIN5[3]
    # a certified header whose prev_hash points elsewhere
    unlinked = dataclasses.replace(b2.header, prev_hash="12" * 32)
    v = verify_header_chain(VALIDATORS, GENESIS, [(b1.header, b1.certificate), (unlinked, certify(unlinked))])
    assert v.code == "broken_link"
    assert verify_header_chain(VALIDATORS, GENESIS, [(b1.header, b1.certificate), (b3.header, b3.certificate)]).code == "height_gap"
    # a block from another chain history (other genesis) does not link to ours
    other = make_chain([3, 0], salt="fork")
    assert verify_header_chain(VALIDATORS, GENESIS, [(b1.header, b1.certificate), pairs(other)[2]]).code == "broken_link"
    # right prev_hash, wrong height
    skewed = dataclasses.replace(b2.header, height=3)
    assert verify_header_chain(VALIDATORS, GENESIS, [(b1.header, b1.certificate), (skewed, certify(skewed))]).code == "height_gap"


def test_anchors():
    # a checkpoint anchor in the middle: older headers are not needed, nor accepted
    checkpoint = Anchor.of(CHAIN5[2].header)
    r = make_receipt(CHAIN5[4], 0)
    assert verify_receipt(VALIDATORS, checkpoint, pairs(CHAIN5[3:5]), r).ok
    assert verify_receipt(VALIDATORS, checkpoint, pairs(CHAIN5[2:5]), r).ok
    assert verify_receipt(VALIDATORS, checkpoint, pairs(CHAIN5[1:5]), r).code == "before_anchor"
    assert verify_receipt(VALIDATORS, checkpoint, pairs(CHAIN5[1:5]), make_receipt(CHAIN5[1], 0)).code == "before_anchor"
    # a receipt in the anchor block needs the anchor header itself
    anchor3 = Anchor.of(CHAIN5[3].header)
    r3 = make_receipt(CHAIN5[3], 6)
    assert verify_receipt(VALIDATORS, anchor3, [], r3).code == "unknown_height"
    assert verify_receipt(VALIDATORS, anchor3, [(CHAIN5[3].header, None)], r3).ok
    assert verify_receipt(VALIDATORS, CHAIN5[3].header, [], r3).ok
    # a header claiming the anchor's height but not its hash
    fake = dataclasses.replace(CHAIN5[3].header, tx_root="aa" * 32)
    assert verify_receipt(VALIDATORS, anchor3, [(fake, None)], r3).code == "anchor_mismatch"
    # a wrong genesis hash
    assert verify_header_chain(VALIDATORS, Anchor.genesis("99" * 32), pairs(CHAIN5[1:])).code == "broken_link"
    assert Anchor.from_dict(GENESIS.to_dict()) == GENESIS
    for bad in [{"height": -1, "hash": "00" * 32}, {"height": 0, "hash": "xy"}, {"height": 0}]:
        with pytest.raises(ValueError):
            Anchor.from_dict(bad)


def test_proofs_for_another_block():
    client = LightClient(VALIDATORS, GENESIS)
    assert client.extend(pairs(CHAIN5)).ok
    r1 = make_receipt(CHAIN5[1], 1)
    assert client.verify_receipt(r1).ok
    # the proof from block 5 presented for block 1 (both small blocks)
    r5 = make_receipt(CHAIN5[5], 1)
    moved = dataclasses.replace(r5, height=1, tx_count=CHAIN5[1].header.tx_count)
    assert client.verify_receipt(moved).code == "bad_proof"
    assert client.verify_receipt(dataclasses.replace(r5, height=1)).code == "tx_count_mismatch"
    # a transaction id that is not in the block, with a real proof
    assert client.verify_receipt(dataclasses.replace(r1, tx_id=r5.tx_id)).code == "bad_proof"
    # a transaction given alongside that is not the receipt's
    assert client.verify_receipt(r1, CHAIN5[1].txs[0]).code == "tx_mismatch"
    assert client.verify_receipt(dataclasses.replace(r1, height=99)).code == "unknown_height"
    assert check_receipt(CHAIN5[2].header, r1).code == "unknown_height"


def test_conflicting_committed_headers_are_reported():
    client = LightClient(VALIDATORS, GENESIS)
    assert client.extend(pairs(CHAIN5[:3])).ok
    fork = make_chain([3, 0], salt="fork")  # the consortium's keys signed a different block 1
    v = client.add(*pairs(fork)[1])
    assert not v.ok and v.code == "conflict"
    assert client.header(1) == CHAIN5[1].header  # what we hold stays
    # the same header again is harmless
    assert client.add(*pairs(CHAIN5)[1]).ok
    # a different header at a held height, without a valid certificate
    assert client.add(fork[1].header, None).code == "bad_certificate"


def test_incremental_client_and_retention():
    client = LightClient(VALIDATORS, CHAIN5[0].header, keep=2)
    for h, (header, cert) in enumerate(pairs(CHAIN5[1:]), start=1):
        assert client.add(header, cert).ok and client.tip_height == h
    assert [h.height for h in client.headers()] == [4, 5]
    assert client.verify_receipt(make_receipt(CHAIN5[5], 0)).ok
    assert client.verify_receipt(make_receipt(CHAIN5[1], 0)).code == "unknown_height"
    # a forgotten height cannot be compared against
    assert client.add(*pairs(make_chain([3], salt="x"))[1]).code == "unknown_height"
    assert client.add(*pairs(CHAIN5)[1]).code == "unknown_height"
    with pytest.raises(ValueError):
        LightClient(VALIDATORS, GENESIS, keep=0)
    with pytest.raises(ValueError):
        LightClient(VALIDATORS, make_chain([], chain="other-chain")[0].header)


def test_receipt_dict_forms():
    b = CHAIN5[3]
    r = make_receipt(b, 2)
    assert Receipt.from_dict(r.to_dict()) == r
    with_tx = {**r.to_dict(), "tx": b.txs[2]}
    assert Receipt.from_dict(with_tx).tx == b.txs[2]
    tx_only = {k: v for k, v in with_tx.items() if k != "tx_id"}
    assert Receipt.from_dict(tx_only).tx_id == r.tx_id
    assert verify_receipt(VALIDATORS, GENESIS, pairs(CHAIN5[1:]), tx_only).ok
    # a receipt carrying another transaction than its tx_id
    tampered = dataclasses.replace(Receipt.from_dict(with_tx), tx=b.txs[3])
    assert verify_receipt(VALIDATORS, GENESIS, pairs(CHAIN5[1:]), tampered).code == "tx_mismatch"
    for bad in [
        {**r.to_dict(), "tx": b.txs[3]},  # disagrees with tx_id
        {**r.to_dict(), "extra": 1},
        {k: v for k, v in r.to_dict().items() if k != "tx_id"},
        {**r.to_dict(), "index": -1},
        {**r.to_dict(), "height": "3"},
        {**r.to_dict(), "proof": ["zz"]},
        {**r.to_dict(), "tx_id": r.tx_id.upper()},
        None,
    ]:
        with pytest.raises(ValueError):
            Receipt.from_dict(bad)


garbage = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2**65) | st.text(max_size=6) | st.binary(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None, database=None)
@given(garbage, garbage, garbage)
def test_never_raises_on_malformed_input(headers, receipt, tx):
    for anchor in (GENESIS, headers, CHAIN5[0].header):
        v = verify_receipt(VALIDATORS, anchor, headers, receipt, tx)
        assert isinstance(v, Verdict) and not v.ok
    assert not verify_receipt(VALIDATORS, GENESIS, pairs(CHAIN5[1:]), receipt, tx).ok
    assert not verify_header_chain(VALIDATORS, GENESIS, [(headers, receipt)]).ok
    assert not verify_receipt(receipt, GENESIS, pairs(CHAIN5[1:]), make_receipt(CHAIN5[1], 0)).ok
    client = LightClient(VALIDATORS, GENESIS)
    assert not client.add(headers, receipt).ok
    assert not client.verify_receipt(receipt).ok


@settings(max_examples=100, deadline=None, database=None)
@given(st.sampled_from(list(BlockHeader.__dataclass_fields__)), garbage)
def test_never_raises_on_headers_with_bad_fields(field, value):
    bad = CHAIN5[1].header.to_dict()
    bad[field] = value
    v = verify_header_chain(VALIDATORS, GENESIS, [(bad, CHAIN5[1].certificate.to_dict())])
    assert isinstance(v, Verdict)
    if value != CHAIN5[1].header.to_dict()[field]:
        assert not v.ok


@settings(max_examples=100, deadline=None, database=None)
@given(st.sampled_from(["tx_id", "height", "index", "tx_count", "proof", "tx"]), garbage)
def test_never_raises_on_receipt_objects_with_bad_fields(field, value):
    """Receipt objects built in code skip from_dict's checks; the verifier must still cope."""
    client = LightClient(VALIDATORS, GENESIS)
    client.extend(pairs(CHAIN5))
    receipt = make_receipt(CHAIN5[3], 2)
    bad = dataclasses.replace(receipt, **{field: value})
    v = client.verify_receipt(bad)
    assert isinstance(v, Verdict)
    assert not check_receipt(CHAIN5[3].header, bad).ok or getattr(receipt, field) == value or field == "tx" and value is None
