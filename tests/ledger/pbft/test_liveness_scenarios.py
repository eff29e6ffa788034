"""Liveness schedules of issue #15, with the runtime's client (one submission at one node, never
re-sent by a client). Each stalled before its fix; each must now commit every request at every
correct replica within a bound. The schedules are in tests/ledger/pbft/liveness.py; replay one with
`python -m tests.ledger.pbft.replay --scenario NAME`.
"""

from __future__ import annotations

import re

from ledger.pbfttest.simulation import Devices
from tests.ledger.pbft import liveness


def run(name: str):
    sim = liveness.SCENARIOS[name]().run()
    print(f"--- {name} ({sim.schedule.summary()})")
    print("\n".join(sim.transcript))
    for rid, node in sim.nodes.items():
        r = node.replica
        if r is not None:
            print(f"{rid}: view {r.view} height {r.committed_height} stable h{r.stable.height} dropped {dict(r.dropped)}")
            for tick, text in r.events:
                print(f"    t={tick} {text}")
    return sim


def events(sim, rid, pattern):
    return [text for _, text in sim.nodes[rid].replica.events if re.search(pattern, text)]


def assert_committed_by(sim, tick):
    """No violation, and every wanted request committed at every correct replica by `tick`."""
    assert not sim.violations, sim.violations
    wanted = sim.wanted()
    assert wanted
    late = {t[:8]: sim.committed_everywhere_at(t) for t in wanted
            if (sim.committed_everywhere_at(t) or tick + 1) > tick}
    assert not late, f"committed after t={tick} (None: never): {late}"


def views(sim):
    return {n.replica.view for n in sim.nodes.values() if n.correct and n.replica is not None}


def test_censoring_primary_that_proposes_empty_blocks_is_replaced():
    sim = run("censor-empty-blocks")
    assert_committed_by(sim, 200)
    # Backups refuse a fresh block without transactions, and the timer of the oldest request is not
    # restarted by commits: the request timer expires, forward then suspect.
    assert events(sim, "R2", r"request timer expired in v0: re-broadcasting 3 requests")
    assert sim.nodes["R2"].replica.dropped["empty_block"] >= 1
    assert events(sim, "R2", r"NEW-VIEW v1 from R1")


def test_primary_that_leaves_out_one_request_is_replaced_while_other_traffic_flows():
    sim = run("censor-one-victim")
    victim = Devices().tx(liveness.VICTIM).id
    # Traffic flows until t=600; before the fix every commit restarted the timer, so the victim
    # waited until the traffic stopped (t=638).
    assert sim.committed_everywhere_at(victim) <= 200
    assert events(sim, "R3", r"NEW-VIEW v1 from R1")
    assert_committed_by(sim, 700)


def test_request_whose_forward_was_lost_while_the_primary_is_dead():
    sim = run("forward-lost-primary-dead")
    assert_committed_by(sim, 300)
    assert events(sim, "R1", r"request timer expired in v0: re-broadcasting 1 requests")
    for rid in ("R2", "R3"):
        assert events(sim, rid, r"NEW-VIEW v1 from R1")
    assert views(sim) == {1}


def test_replica_alone_in_a_view_change_keeps_offering_its_requests():
    sim = run("alone-in-view-change")
    assert_committed_by(sim, 500)
    assert events(sim, "R1", r"VIEW-CHANGE to v1")
    assert events(sim, "R1", r"alone in the change to v1: re-broadcasting 1 requests")
    assert views(sim) == {1}


def test_submission_at_a_primary_that_crashes_is_proposed_again_on_restart():
    sim = run("primary-crashes-with-request")
    assert_committed_by(sim, 120)
    assert [line for line in sim.transcript if "R0 RESTARTS" in line]


def test_submission_at_a_backup_that_restarts_after_a_lost_forward():
    sim = run("entry-restarts-after-lost-forward")
    assert_committed_by(sim, 300)
    assert [line for line in sim.transcript if "R1 RESTARTS" in line]
    assert views(sim) == {1}


def test_request_refused_on_an_old_state_is_checked_again_later():
    sim = run("late-key-registration")
    assert_committed_by(sim, 400)
    # Refused at R2 and R3 until their registration of d1 at t=150 (the block could not commit),
    # then accepted: a refusal is not cached.
    assert sim.nodes["R2"].replica.dropped["bad_request"] >= 1
    assert max(views(sim)) <= 3


def test_request_whose_key_is_revoked_after_admission_is_dropped_not_proposed():
    sim = run("key-revoked-after-admission")
    assert_committed_by(sim, 60)
    revoked = Devices().tx(liveness.REVOKED).id
    assert events(sim, "R0", rf"pending request {revoked[:8]} no longer valid, dropped")
    assert revoked not in sim.commit_ticks
    assert revoked not in sim.wanted()
    assert views(sim) == {0}


def test_lost_checkpoints_are_sent_again():
    sim = run("checkpoints-lost")
    assert_committed_by(sim, 400)
    for node in sim.nodes.values():
        assert node.replica.stable.height >= 6
    assert max(views(sim)) <= 2


def test_request_timer_stays_doubled_after_a_view_change_until_a_request_executes():
    sim = run("slow-links-after-view-change")
    assert_committed_by(sim, 400)
    for rid in ("R1", "R2", "R3"):
        assert events(sim, rid, r"NEW-VIEW v1 from R1")
        assert not events(sim, rid, r"VIEW-CHANGE to v2")


def test_replay_tool_replays_a_named_scenario(capsys):
    from tests.ledger.pbft.replay import main

    assert main(["--scenario", "primary-crashes-with-request"]) == 0
    out = capsys.readouterr().out
    assert "R0 RESTARTS" in out and "violations:\n  none" in out
