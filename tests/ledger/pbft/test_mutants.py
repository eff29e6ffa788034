"""The invariants have teeth: replicas with a known bug break them on the default seeds."""

from __future__ import annotations

from ledger.pbft import messages as m
from ledger.pbft.replica import Replica
from ledger.pbfttest.simulation import Schedule, Simulation, replay_command, run_schedule
from tests.ledger.pbft.mutants import ForgetfulViewChangeReplica, WeakQuorumReplica


def _first_breaking_seed(factory, kinds, seeds):
    for seed in seeds:
        sim = run_schedule(seed, factory=factory, stop_on_violation=True)
        hits = [v for v in sim.violations if not kinds or v.split(":")[0] in kinds]
        if hits:
            return seed, hits, sim
    return None, [], None


def test_quorum_of_f_plus_1_breaks_agreement():
    seed, hits, sim = _first_breaking_seed(WeakQuorumReplica, {"agreement"}, range(0, 200))
    assert seed is not None, "a replica that commits with f+1 votes went unnoticed on seeds 0..199"
    print(f"weak quorum breaks agreement at seed {seed}: {hits[0]}")
    print(f"replay: {replay_command(seed, sim.schedule.n, 'weak-quorum')}")


def test_quorum_of_f_plus_1_breaks_certificates_at_once():
    sim = run_schedule(0, factory=WeakQuorumReplica, stop_on_violation=True)
    assert any(v.startswith("certificate:") for v in sim.violations)


def test_view_change_without_prepared_certificates_breaks_agreement_on_default_seeds():
    seed, hits, sim = _first_breaking_seed(ForgetfulViewChangeReplica, {"agreement"}, range(0, 200))
    assert seed is not None, "a view change that forgets prepared certificates went unnoticed on seeds 0..199"
    print(f"forgetful view change breaks agreement at seed {seed}: {hits[0]}")
    print(f"replay: {replay_command(seed, sim.schedule.n, 'forgetful-view-change')}")


def committed_then_view_change(factory):
    """n = 7. Only R1 hears the COMMITs for h1, so only R1 commits it; then the primary R0 and R1
    crash, two view changes follow (R1 leads v1 and is down), and R1 comes back later."""
    schedule = Schedule(seed=0, n=7, max_delay=1, faults_end=0, max_ticks=1500,
                        crashes=[("R0", 9, None), ("R1", 9, 400)], requests=[(2, i, True, "R2") for i in range(2)])
    sim = Simulation(schedule, factory=factory, transcript=True)
    sim.net.drop_if = lambda now, src, dst, kind: kind == m.COMMIT and dst != "R1" and now < 12
    return sim.run()


def test_prepared_certificates_carry_a_commit_across_view_changes():
    sim = committed_then_view_change(Replica)
    print("\n".join(sim.transcript))
    assert [line for line in sim.transcript if "R1 COMMITTED h1" in line and "cert v0" in line]
    assert [line for line in sim.transcript if "NEW-VIEW v2 vcs=5 re-proposed=1" in line]
    assert not [v for v in sim.violations if not v.startswith("liveness")], sim.violations


def test_view_change_without_prepared_certificates_breaks_agreement():
    sim = committed_then_view_change(ForgetfulViewChangeReplica)
    print("\n".join(sim.transcript))
    assert any(v.startswith("agreement:") for v in sim.violations), sim.violations
