"""Wire format: signing, and decoding that refuses malformed bytes with a clear error."""

from __future__ import annotations

import pytest

from ledger.chain.block import commit_vote_bytes
from ledger.pbft import messages as m
from ledger.pbfttest.simulation import CHAIN, validator_key, validator_set


def prepare_body(**over):
    body = {"t": m.PREPARE, "chain": CHAIN, "from": "R1", "view": 0, "height": 1, "block": "ab" * 32}
    body.update(over)
    return body


def test_round_trip_and_verify():
    env = m.sign(validator_key(1), prepare_body())
    back = m.decode(env.wire)
    assert back.body == env.body and back.sender == "R1"
    assert m.verify_envelope(back, validator_set(4)) is None


def test_commit_signs_exactly_the_commit_vote():
    env = m.sign(validator_key(2), prepare_body(t=m.COMMIT, **{"from": "R2"}))
    vote = commit_vote_bytes(CHAIN, 0, 1, "ab" * 32)
    assert validator_key(2).public_key.verify(env.sig, vote)


@pytest.mark.parametrize(
    "wire, error",
    [
        (b"short", "too short"),
        (bytes(64) + b"not json", "not JSON"),
        (bytes(64) + b'{"t":"prepare","x":1.5}', "floats"),
        (bytes(64) + b"[1,2]", "must be an object"),
        (bytes(64) + b'{"t":"gossip","chain":"sim","from":"R1"}', "unknown message kind"),
        (bytes(64) + b'{"t":"status","chain":"sim","from":"R1","view":0,"active":true}', "fields must be exactly"),
        (bytes(64) + b'{"t":"status","chain":"sim","from":"R1","view":-1,"active":true,"height":0,"stable":0}', "bad field"),
        (bytes(64) + b'{"t":"status","chain":"sim","from":"R1","view":0,"active":1,"height":0,"stable":0}', "bad field"),
        # A peer's deeply nested body: refused before the parser recurses (a RecursionError before).
        (bytes(64) + b'{"t":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_decode_refuses_malformed_bytes(wire, error):
    with pytest.raises(m.MessageError, match=error):
        m.decode(wire)


def test_verify_reports_why():
    vs = validator_set(4)
    env = m.sign(validator_key(1), prepare_body())
    assert m.verify_envelope(m.decode(bytes(64) + env.body_bytes), vs) == "bad_signature"
    stranger = m.sign(validator_key(9), prepare_body(**{"from": "R9"}))
    assert m.verify_envelope(stranger, vs) == "unknown_signer"
    other_chain = m.sign(validator_key(1), prepare_body(chain="other"))
    assert m.verify_envelope(other_chain, vs) == "wrong_chain"
    impostor = m.sign(validator_key(1), prepare_body(**{"from": "R2"}))
    assert m.verify_envelope(impostor, vs) == "bad_signature"
