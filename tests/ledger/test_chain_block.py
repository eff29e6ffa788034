"""Headers, validator sets, commit certificates and blocks."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.chain.block import (
    ZERO_HASH,
    Block,
    BlockFormatError,
    BlockHeader,
    CommitCertificate,
    Validator,
    ValidatorSet,
    commit_vote_bytes,
    header_problem,
    max_faulty,
    quorum_size,
    tx_root,
    verify_commit_certificate,
)
from ledger.chain.crypto import P256, SigningKey
from ledger.chain.merkle import EMPTY_ROOT
from ledger.chain.tx import Transaction

CHAIN = "pilechain-test"
KEYS = {f"inst{i}": SigningKey.from_seed(bytes([i + 1]) * 32) for i in range(4)}
VALIDATORS = ValidatorSet(CHAIN, tuple(Validator(vid, k.public_key) for vid, k in KEYS.items()))
DEVICE = SigningKey.from_seed(b"\x55" * 32)


def txs(n, chain=CHAIN):
    return [
        Transaction.create(chain_id=chain, type="monitoring.fault_report", payload={"i": i}, signer="device:p1", key=DEVICE, nonce=str(i))
        for i in range(n)
    ]


def block(n=3, height=1, **overrides):
    fields = dict(
        chain_id=CHAIN, height=height, prev_hash="ab" * 32, timestamp_ms=1_700_000_000_000, txs=txs(n),
        state_root="cd" * 32, view=0, proposer="inst0",
    )
    fields.update(overrides)
    return Block.create(**fields)


def sign(header, view=0, signers=("inst0", "inst1", "inst2")):
    return CommitCertificate.build(header, view, {s: KEYS[s] for s in signers})


@pytest.mark.parametrize("n, f, q", [(4, 1, 3), (5, 1, 4), (6, 1, 4), (7, 2, 5), (10, 3, 7), (11, 3, 8)])
def test_quorum_sizes(n, f, q):
    assert max_faulty(n) == f and quorum_size(n) == q
    # any two quorums intersect in at least f + 1 replicas
    assert 2 * q - n >= f + 1


def test_validator_set_rules():
    assert VALIDATORS.n == 4 and VALIDATORS.f == 1 and VALIDATORS.quorum == 3
    assert VALIDATORS.primary(5) == "inst1" and VALIDATORS.index("inst2") == 2
    assert VALIDATORS.key("nobody") is None
    vs = list(VALIDATORS.validators)
    with pytest.raises(ValueError):
        ValidatorSet(CHAIN, tuple(vs[:3]))
    with pytest.raises(ValueError):
        ValidatorSet(CHAIN, tuple(vs + [vs[0]]))
    with pytest.raises(ValueError):
        ValidatorSet(CHAIN, tuple(vs[:3] + [Validator("dev", SigningKey.generate(P256).public_key)]))


def test_header_hash_and_strict_dict():
    header = block().header
    assert BlockHeader.from_dict(header.to_dict()) == header
    assert BlockHeader.from_dict(header.to_dict()).hash() == header.hash()
    for name in header.to_dict():
        changed = {**header.to_dict(), name: 7 if isinstance(getattr(header, name), str) else 8}
        assert BlockHeader(**changed).hash() != header.hash()
    with pytest.raises(BlockFormatError):
        BlockHeader.from_dict({**header.to_dict(), "extra": 1})
    with pytest.raises(BlockFormatError):
        BlockHeader.from_dict({k: v for k, v in header.to_dict().items() if k != "view"})
    with pytest.raises(BlockFormatError):
        BlockHeader.from_dict(None)


@pytest.mark.parametrize(
    "change, why",
    [
        (dict(height=-1), "height"),
        (dict(height=True), "height"),
        (dict(view="0"), "view"),
        (dict(prev_hash="AB" * 32), "prev_hash"),
        (dict(tx_root="ab"), "tx_root"),
        (dict(state_root=None), "state_root"),
        (dict(chain_id=""), "chain_id"),
        (dict(proposer=""), "proposer"),
        (dict(height=0), "genesis"),
        (dict(tx_count=0), "empty tree"),
    ],
)
def test_header_problems(change, why):
    header = block().header
    assert header_problem(header) is None and header.problem() is None
    bad = BlockHeader(**{**header.to_dict(), **change})
    assert why in header_problem(bad)


def test_empty_genesis_block_is_well_formed():
    genesis = block(0, height=0, prev_hash=ZERO_HASH)
    assert genesis.header.tx_root == EMPTY_ROOT.hex() == tx_root([])
    assert genesis.body_problem() is None


def test_certificate_quorum_and_signers():
    header = block().header
    assert verify_commit_certificate(header, sign(header), VALIDATORS)
    assert verify_commit_certificate(header, sign(header, signers=tuple(KEYS)), VALIDATORS)
    assert not verify_commit_certificate(header, sign(header, signers=("inst0", "inst1")), VALIDATORS)
    good = sign(header).signatures
    # A validator counts once however often it signs.
    assert not verify_commit_certificate(header, CommitCertificate(0, (good[0], good[0], good[1])), VALIDATORS)
    # Unknown signers count for nothing, even with valid signatures of their own.
    outsider = SigningKey.from_seed(b"\x77" * 32)
    message = commit_vote_bytes(CHAIN, 0, header.height, header.hash())
    forged = CommitCertificate(0, good[:2] + (("outsider", outsider.sign(message).hex()),))
    assert not verify_commit_certificate(header, forged, VALIDATORS)
    # A known id with someone else's signature.
    stolen = CommitCertificate(0, good[:2] + (("inst3", outsider.sign(message).hex()),))
    assert not verify_commit_certificate(header, stolen, VALIDATORS)


def test_certificate_is_bound_to_block_view_height_and_chain():
    header = block().header
    other_block = block(n=4).header
    assert not verify_commit_certificate(header, sign(other_block), VALIDATORS)
    # signed in view 1, presented as view 0
    view1 = sign(header, view=1)
    assert verify_commit_certificate(header, view1, VALIDATORS)
    assert not verify_commit_certificate(header, CommitCertificate(0, view1.signatures), VALIDATORS)
    # signatures over the same hash but another height
    msg = commit_vote_bytes(CHAIN, 0, header.height + 1, header.hash())
    wrong_height = CommitCertificate(0, tuple((s, KEYS[s].sign(msg).hex()) for s in ("inst0", "inst1", "inst2")))
    assert not verify_commit_certificate(header, wrong_height, VALIDATORS)
    # same keys, another consortium chain
    other_chain = ValidatorSet("other-chain", VALIDATORS.validators)
    assert not verify_commit_certificate(header, sign(header), other_chain)
    msg = commit_vote_bytes("other-chain", 0, header.height, header.hash())
    wrong_chain = CommitCertificate(0, tuple((s, KEYS[s].sign(msg).hex()) for s in ("inst0", "inst1", "inst2")))
    assert not verify_commit_certificate(header, wrong_chain, VALIDATORS)


@settings(max_examples=150, deadline=None, database=None)
@given(
    view=st.none() | st.integers(-3, 3) | st.text(max_size=3) | st.booleans(),
    signatures=st.none()
    | st.lists(st.none() | st.text(max_size=4) | st.tuples(st.integers() | st.text(max_size=5), st.text(max_size=5) | st.none()), max_size=4),
)
def test_malformed_certificates_never_raise(view, signatures):
    header = block().header
    assert verify_commit_certificate(header, CommitCertificate(view, signatures), VALIDATORS) is False
    assert verify_commit_certificate(None, sign(header), VALIDATORS) is False
    assert verify_commit_certificate(header, {"view": 0}, VALIDATORS) is False


def test_certificate_dict_round_trip_and_strictness():
    cert = sign(block().header)
    assert CommitCertificate.from_dict(cert.to_dict()) == cert
    for bad in [
        {"view": 0},
        {"view": -1, "signatures": []},
        {"view": 0, "signatures": [["inst0"]]},
        {"view": 0, "signatures": [["inst0", 5]]},
        {"view": 0, "signatures": [], "x": 1},
        [],
    ]:
        with pytest.raises(BlockFormatError):
            CommitCertificate.from_dict(bad)


def test_block_body_checks():
    b = block(5)
    assert b.verify_body() and b.tx_ids() == [t.id for t in txs(5)]
    assert b.header.tx_count == 5 and b.header.tx_root == tx_root(b.tx_ids())
    reordered = Block(b.header, tuple(reversed(b.txs)))
    assert "tx_root" in reordered.body_problem()
    dropped = Block(b.header, b.txs[:-1])
    assert "tx_count" in dropped.body_problem()
    changed = list(b.txs)
    changed[2] = txs(6)[5].to_dict()
    assert not Block(b.header, tuple(changed)).verify_body()
    dup = Block.create(
        chain_id=CHAIN, height=1, prev_hash="ab" * 32, timestamp_ms=0, txs=txs(2) + txs(1), state_root="cd" * 32, view=0, proposer="inst0"
    )
    assert "twice" in dup.body_problem()
    foreign = block(txs=txs(2, chain="other-chain"))
    assert "another chain" in foreign.body_problem()
    garbage = Block(b.header, ({"not": "a tx"},) + b.txs[1:])
    assert "malformed" in garbage.body_problem() and not garbage.verify_body()


def test_block_dict_round_trip_and_verify():
    b = block(3)
    assert not b.verify(VALIDATORS)  # no certificate yet
    committed = b.with_certificate(sign(b.header))
    assert committed.verify(VALIDATORS)
    again = Block.from_dict(committed.to_dict())
    assert again == committed and again.verify(VALIDATORS) and again.hash() == b.header.hash()
    assert Block.from_dict(b.to_dict()).certificate is None
    for bad in [{**b.to_dict(), "x": 1}, {**b.to_dict(), "txs": "no"}, {**b.to_dict(), "txs": [1]}]:
        with pytest.raises(BlockFormatError):
            Block.from_dict(bad)
    tampered = committed.to_dict()
    tampered["txs"][0]["payload"] = {"i": 99}
    assert not Block.from_dict(tampered).verify(VALIDATORS)
