"""Named liveness schedules (issue #15): each one stalled the replica before its fix.

All of them use the runtime's client: a request enters one node once and is never re-sent by a
client; the node keeps it across a crash and proposes it again on restart. Each builder returns an
unrun `Simulation` with its transcript on; `tests/ledger/pbft/test_liveness_scenarios.py` runs them
and `python -m tests.ledger.pbft.replay --scenario NAME` replays one.
"""

from __future__ import annotations

from ledger.pbft import messages as m
from ledger.pbfttest.simulation import Censor, Devices, Schedule, Simulation


def _schedule(n=4, *, requests, crashes=(), max_ticks=1500, **extra) -> Schedule:
    return Schedule(seed=0, n=n, max_delay=1, faults_end=0, max_ticks=max_ticks, requests=list(requests),
                    crashes=list(crashes), client="runtime", **extra)


def censor_empty_blocks() -> Simulation:
    """R0, the primary, proposes a block without transactions every 30 ticks and never the three
    requests submitted at R1 (request timeout 40 ticks)."""
    schedule = _schedule(requests=[(2, i, True, "R1") for i in range(3)], max_ticks=1200)
    return Simulation(schedule, transcript=True, behaviours={"R0": Censor(every=30)})


VICTIM = 0


def censor_one_victim() -> Simulation:
    """R0, the primary, batches every request but one (tx0, at R1 from tick 2) while other traffic
    flows: a request every 15 ticks at R1 until tick 600."""
    victim = Devices().tx(VICTIM).id
    requests = [(2, VICTIM, True, "R1")] + [(5 + 15 * i, 1 + i, True, "R1") for i in range(40)]
    schedule = _schedule(requests=requests, max_ticks=1500)
    return Simulation(schedule, transcript=True, behaviours={"R0": Censor(victims={victim})})


def _drop_requests_from(sim: Simulation, sender: str, until: int) -> Simulation:
    sim.net.drop_if = lambda now, src, dst, kind: src == sender and kind == m.REQUEST and now < until
    return sim


def forward_lost_primary_dead() -> Simulation:
    """(a) R0 is dead; a request enters R1, whose forward is lost. R1 times out first and alone."""
    schedule = _schedule(requests=[(5, 0, True, "R1")], crashes=[("R0", 1, None)])
    return _drop_requests_from(Simulation(schedule, transcript=True), "R1", until=30)


def alone_in_view_change() -> Simulation:
    """(a) harder: every REQUEST R1 sends is lost until tick 120, past its own re-broadcast and its
    view change to v1, which it makes alone; R2 and R3 have never seen the request."""
    schedule = _schedule(requests=[(5, 0, True, "R1")], crashes=[("R0", 1, None)])
    return _drop_requests_from(Simulation(schedule, transcript=True), "R1", until=120)


def primary_crashes_with_request() -> Simulation:
    """(b) A request enters the primary R0, which crashes before proposing it and restarts at 60."""
    schedule = _schedule(requests=[(5, 0, True, "R0")], crashes=[("R0", 6, 60)])
    return Simulation(schedule, transcript=True)


def entry_restarts_after_lost_forward() -> Simulation:
    """(c) R0 is dead; a request enters R1, whose forward is lost; R1 crashes at 20 (before its
    request timer expires) and restarts at 30 with nothing pending in its replica."""
    schedule = _schedule(requests=[(5, 0, True, "R1")], crashes=[("R0", 1, None), ("R1", 20, 30)])
    return _drop_requests_from(Simulation(schedule, transcript=True), "R1", until=20)


def late_key_registration() -> Simulation:
    """A request signed by device d1, whose registration R2 and R3 apply only at tick 150; until then
    it is invalid there (a quorum cannot commit it), afterwards valid everywhere."""
    signer = Devices().signer(1)
    changes = [(0, signer, ("R2", "R3"), False), (150, signer, ("R2", "R3"), True)]
    schedule = _schedule(requests=[(5, 1, True, "R1")], key_changes=changes, max_ticks=1500)
    return Simulation(schedule, transcript=True)


REVOKED = 1


def key_revoked_after_admission() -> Simulation:
    """Batches of one. The primary R0 admits tx0 and tx1 (device d1), d1's key is revoked everywhere
    while tx0 is in flight, then tx2 arrives. tx1 must be dropped, not proposed; tx2 must commit."""
    signer = Devices().signer(REVOKED)
    schedule = _schedule(requests=[(2, 0, True, "R0"), (3, REVOKED, True, "R0"), (10, 2, True, "R0")],
                         key_changes=[(5, signer, ("R0", "R1", "R2", "R3"), False)], max_ticks=800)
    return Simulation(schedule, transcript=True, config_overrides={"batch_max": 1})


def checkpoints_lost() -> Simulation:
    """K=2, L=4, eight requests in eight blocks; every CHECKPOINT is lost until tick 150, so nothing
    is stable when the primary reaches the top of the window (h4) on a network otherwise perfect."""
    schedule = _schedule(requests=[(2 + 15 * i, i, True, "R1") for i in range(8)], max_ticks=2500)
    sim = Simulation(schedule, transcript=True, config_overrides={"checkpoint_interval": 2, "window": 4})
    sim.net.drop_if = lambda now, src, dst, kind: kind == m.CHECKPOINT and now < 150
    return sim


SLOW_LINK = (22, 24)


def slow_links_after_view_change() -> Simulation:
    """R0 is dead and every link takes 22-24 ticks against a 40-tick request timeout: a backup's first
    commit in the new view comes two link delays after its NEW-VIEW, past the base timeout."""
    lo, hi = SLOW_LINK
    schedule = _schedule(requests=[(5, 0, True, "R1")], crashes=[("R0", 1, None)], max_ticks=2000)
    schedule.min_delay, schedule.max_delay = lo, hi
    return Simulation(schedule, transcript=True)


SCENARIOS = {
    "censor-empty-blocks": censor_empty_blocks,
    "censor-one-victim": censor_one_victim,
    "forward-lost-primary-dead": forward_lost_primary_dead,
    "alone-in-view-change": alone_in_view_change,
    "primary-crashes-with-request": primary_crashes_with_request,
    "entry-restarts-after-lost-forward": entry_restarts_after_lost_forward,
    "late-key-registration": late_key_registration,
    "key-revoked-after-admission": key_revoked_after_admission,
    "checkpoints-lost": checkpoints_lost,
    "slow-links-after-view-change": slow_links_after_view_change,
}
