"""The replica's rules one at a time: drops counted per reason, duplicates, timestamps, restart from
persisted bytes, null blocks, state transfer checks, the client's f+1 rule."""

from __future__ import annotations

import pytest

from ledger.chain.block import BlockHeader, CommitCertificate, tx_root
from ledger.pbft import messages as m
from ledger.pbft.client import Reply, ReplyCollector
from ledger.pbft.config import ReplicaConfig
from ledger.pbft.log import CommittedBlock, is_null_header
from ledger.pbft.replica import Replica
from ledger.pbfttest.simulation import (
    CHAIN, GENESIS_ROOT, Devices, Schedule, Simulation, sim_config, validator_key, validator_set,
)
from ledger.pbft.statetransfer import check_blocks
from ledger.pbft.viewchange import GENESIS, Certificate, ViewChangeInfo, plan_new_view, preprepare_body


def quiet_sim(n=4, requests=3, max_ticks=400):
    schedule = Schedule(seed=0, n=n, max_delay=1, faults_end=0, max_ticks=max_ticks,
                        requests=[(2, i, True, "R1") for i in range(requests)])
    return Simulation(schedule).run()


def fresh(i=1, n=4):
    devices = Devices()
    r = Replica(sim_config(validator_set(n), i, devices))
    r.tick(1000)
    return r, devices


def pp_wire(txs, *, height=1, view=0, ts=1000, prev="00" * 32, state_root=GENESIS_ROOT, tx_count=None,
            root=None, signer=0):
    header = BlockHeader(CHAIN, height, prev, ts, root or tx_root([t.id for t in txs]),
                         len(txs) if tx_count is None else tx_count, state_root, view, f"R{signer}")
    body = preprepare_body(CHAIN, f"R{signer}", view, header, [t.to_dict() for t in txs])
    return m.sign(validator_key(signer), body).wire


def test_drops_are_counted_per_reason_and_never_raise():
    r, devices = fresh()
    r.step(b"garbage")
    r.step(m.sign(validator_key(9), {"t": m.STATUS, "chain": CHAIN, "from": "R9", "view": 0,
                                     "active": True, "height": 0, "stable": 0}).wire)
    good = m.sign(validator_key(2), {"t": m.PREPARE, "chain": CHAIN, "from": "R2", "view": 0,
                                     "height": 1, "block": "ab" * 32})
    r.step(bytes(64) + good.body_bytes)
    far = m.sign(validator_key(2), {"t": m.PREPARE, "chain": CHAIN, "from": "R2", "view": 0,
                                    "height": 999, "block": "ab" * 32})
    r.step(far.wire)
    r.step(good.wire)
    r.step(good.wire)
    r.step(pp_wire([devices.tx(1)], signer=2))  # R2 is not the primary of view 0
    assert r.dropped == {"malformed": 1, "unknown_signer": 1, "bad_signature": 1, "outside_window": 1,
                         "duplicate": 1, "not_primary": 1}


def test_backup_refuses_repeated_or_forged_transactions_and_bad_roots():
    cases = []
    devices = Devices()
    a, b = devices.tx(1), devices.tx(2)
    cases.append(([a, a], {}, "duplicate_tx"))
    cases.append(([a, devices.tx(3, valid=False)], {}, "bad_request"))
    cases.append(([a, b], {"root": tx_root([b.id, a.id])}, "bad_tx_root"))
    cases.append(([a], {"ts": 1000 + 60_000}, "bad_timestamp"))
    cases.append(([a], {"state_root": "11" * 32}, "bad_state_root"))
    for txs, over, reason in cases:
        r, _ = fresh()
        r.step(pp_wire(txs, **over))
        assert r.dropped == {reason: 1}, reason
        assert not any(o.env.kind == m.PREPARE for o in r.ready().messages)


def test_valid_preprepare_is_persisted_before_the_prepare_it_causes():
    r, devices = fresh()
    r.step(pp_wire([devices.tx(1), devices.tx(2)]))
    rd = r.ready()
    keys = [k for k, _ in rd.persist]
    assert keys == ["log/000000000001/0000000000/pp", "log/000000000001/0000000000/p/R1"]
    assert [o.env.kind for o in rd.messages] == [m.PREPARE]


def test_committed_transactions_are_never_committed_again():
    sim = quiet_sim(requests=3)
    assert not sim.violations
    node = sim.nodes["R0"]
    tx = sim.devices.tx(0)
    assert node.replica.propose(tx) is False
    r = node.replica
    again = pp_wire([tx], height=r.committed_height + 1, prev=r.tip_hash, ts=r.now_ms,
                    state_root=r.applied_root)
    backup = sim.nodes["R2"].replica
    backup.step(again)
    assert backup.dropped["duplicate_tx"] == 1


@pytest.mark.parametrize("n", [4, 7])
def test_restore_rebuilds_the_replica_from_persisted_bytes_alone(n):
    sim = quiet_sim(n=n, requests=7)
    assert not sim.violations
    node = sim.nodes["R2"]
    before = node.replica
    after = Replica.restore(node.config, dict(node.kv))
    assert (after.view, after.active, after.committed_height, after.tip_hash, after.stable) == (
        before.view, before.active, before.committed_height, before.tip_hash, before.stable)
    assert after.committed_txids == before.committed_txids
    assert after.propose(sim.devices.tx(3)) is False
    # Incremental records: no key holds a snapshot that grows with the chain.
    assert max(len(v) for k, v in node.kv.items() if k != "newview") < 4000


def test_new_view_fills_gaps_with_null_blocks():
    devices = Devices()
    vs = validator_set(4)
    block3 = BlockHeader(CHAIN, 3, "aa" * 32, 5, tx_root([devices.tx(1).id]), 1, "bb" * 32, 0, "R0")
    pp = m.sign(validator_key(0), preprepare_body(CHAIN, "R0", 0, block3, [devices.tx(1).to_dict()]))
    from ledger.pbft.log import proposal_of

    cert = Certificate(0, 3, proposal_of(pp), pp, ())
    infos = [ViewChangeInfo(None, 1, GENESIS, {3: cert}), ViewChangeInfo(None, 1, GENESIS, {})]
    start, plan = plan_new_view(infos, vs, 1)
    assert start == GENESIS
    assert [h for h, _, _ in plan] == [1, 2, 3]
    assert is_null_header(plan[0][1]) and is_null_header(plan[1][1])
    assert plan[1][1].prev_hash == plan[0][1].hash() and plan[0][1].proposer == "R1"
    assert plan[2][1] == block3


def test_state_transfer_refuses_tampered_blocks():
    sim = quiet_sim(requests=7)
    store = sim.nodes["R1"].store
    vs = validator_set(4)

    def answer(blocks):
        body = {"t": m.BLOCKS, "chain": CHAIN, "from": "R1", "blocks": blocks}
        return m.sign(validator_key(1), body)

    good = [store[h].to_dict() for h in (1, 2)]
    blocks, refused = check_blocks(answer(good), 1, "00" * 32, vs)
    assert [b.height for b in blocks] == [1, 2] and not refused
    tampered = [dict(good[0], txs=good[0]["txs"][:-1])] if len(good[0]["txs"]) > 1 else None
    bad_cert = dict(good[0], cert={"view": 0, "signatures": good[0]["cert"]["signatures"][:2]})
    wrong_prev = [good[1]]
    for bad in filter(None, [tampered, [bad_cert], wrong_prev]):
        blocks, refused = check_blocks(answer(bad), 1, "00" * 32, vs)
        assert blocks == [] and refused


def test_client_accepts_f_plus_1_matching_replies():
    c = ReplyCollector(f=1)
    assert c.add(Reply("R0", "t1", 3, "aa")) is None
    assert c.add(Reply("R1", "t1", 3, "bb")) is None  # a liar
    assert c.add(Reply("R0", "t1", 3, "aa")) is None  # same replica twice counts once
    assert c.add(Reply("R2", "t1", 3, "aa")) == (3, "aa")


def test_config_refuses_mismatched_key_and_small_window():
    vs = validator_set(4)
    with pytest.raises(ValueError):
        ReplicaConfig(validators=vs, replica_id="R1", signing_key=validator_key(2), verify_request=bool)
    with pytest.raises(ValueError):
        ReplicaConfig(validators=vs, replica_id="R1", signing_key=validator_key(1), verify_request=bool,
                      checkpoint_interval=4, window=4)


def test_committed_block_carries_a_certificate_light_clients_accept():
    from ledger.chain.block import verify_commit_certificate

    sim = quiet_sim(requests=2)
    block: CommittedBlock = sim.nodes["R3"].store[1]
    assert isinstance(block.certificate, CommitCertificate)
    assert verify_commit_certificate(block.header, block.certificate, validator_set(4))


def request_wire(txs, sender=2):
    body = {"t": m.REQUEST, "chain": CHAIN, "from": f"R{sender}", "txs": [t.to_dict() for t in txs]}
    return m.sign(validator_key(sender), body).wire


def test_a_refused_request_is_checked_again_when_offered_again():
    devices = Devices()
    r = Replica(sim_config(validator_set(4), 1, devices))
    r.tick(1000)
    tx = devices.tx(1)
    devices.set_known(tx.signer, ["R1"], False)  # R1 has not applied the key's registration yet
    r.step(request_wire([tx]))
    assert r.dropped["bad_request"] == 1 and tx.id not in r.pending
    devices.set_known(tx.signer, ["R1"], True)
    r.step(request_wire([tx]))
    assert tx.id in r.pending


def test_a_request_heard_again_does_not_restart_its_timer():
    r, devices = fresh()
    a, b = devices.tx(1), devices.tx(2)
    r.step(request_wire([a]))
    deadline = r.request_deadline
    assert r.timed_request == a.id and deadline == r.ticks + r.cfg.request_timeout_ticks
    for _ in range(5):
        r.tick(1000)
    r.step(request_wire([a, b]))  # the same request again, and a younger one
    assert (r.timed_request, r.request_deadline) == (a.id, deadline)


def test_request_timer_re_broadcasts_first_and_suspects_second():
    r, devices = fresh()
    r.step(request_wire([devices.tx(1), devices.tx(2)]))
    r.ready(), r.advance()
    first = r.request_deadline
    while r.ticks < first:
        r.tick(1000)
    sent = r.ready().messages
    r.advance()
    assert [(o.env.kind, len(o.env.body["txs"]), o.to) for o in sent if o.env.kind == m.REQUEST] == [
        (m.REQUEST, 2, ("R0", "R2", "R3"))]
    assert r.active and r.view == 0
    second = r.request_deadline
    while r.active:
        r.tick(1000)
    assert r.ticks == second and r.view == 1
    assert any(o.env.kind == m.VIEWCHANGE for o in r.ready().messages)


def test_backup_refuses_a_fresh_block_without_transactions():
    r, _ = fresh()
    r.step(pp_wire([]))
    assert r.dropped == {"empty_block": 1}
    assert not any(o.env.kind == m.PREPARE for o in r.ready().messages)


def test_status_carries_the_stable_height_and_a_peer_behind_gets_our_checkpoints():
    sim = quiet_sim(requests=7)  # K = 2: checkpoints at h2, h4, ...
    r = sim.nodes["R1"].replica
    assert r.stable.height >= 2
    status = {"t": m.STATUS, "chain": CHAIN, "from": "R2", "view": r.view, "active": True,
              "height": r.committed_height, "stable": 0}
    r.ready(), r.advance()
    r.status_replied.pop("R2", None)  # answers are rate-limited per peer
    r.step(m.sign(validator_key(2), status).wire)
    sent = [o.env for o in r.ready().messages if o.to == ("R2",)]
    assert {e.kind for e in sent} == {m.CHECKPOINT}
    assert {e.body["height"] for e in sent} == {r.stable.height}  # the proof of our stable checkpoint
    r._send_status(("R2",))
    assert r.ready().messages[-1].env.body["stable"] == r.stable.height


def test_a_replica_is_idle_only_while_no_timer_runs_and_nothing_is_in_flight():
    sim = quiet_sim(requests=3)
    assert not sim.violations
    r = sim.nodes["R1"].replica
    assert r.committed_height >= 1 and r.idle()  # its runtime may tick less often
    assert r.propose(sim.devices.tx(7))  # a request waits: its timer runs
    assert not r.idle()
    changing, _ = fresh()
    assert changing.idle()
    changing.active = False  # collecting VIEW-CHANGEs
    assert not changing.idle()
