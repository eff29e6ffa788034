"""Named scenarios, readable as transcripts ("t=12 R0 -> R1 PRE-PREPARE v0 h1 3tx 5f4a80").

Each test prints its transcript (shown on failure, or always with -s) and asserts on key events.
"""

from __future__ import annotations

import re

import pytest

from ledger.pbfttest.simulation import Equivocator, Schedule, Simulation


def run_scenario(n, *, requests, crashes=(), partitions=(), behaviours=None, max_ticks=2000):
    schedule = Schedule(seed=0, n=n, max_delay=1, partitions=list(partitions), crashes=list(crashes),
                        requests=list(requests), faults_end=0, max_ticks=max_ticks)
    sim = Simulation(schedule, transcript=True, behaviours=behaviours).run()
    print(f"--- transcript ({schedule.summary()})")
    print("\n".join(sim.transcript))
    for rid, node in sim.nodes.items():
        r = node.replica
        if r is not None:
            print(f"{rid}: view {r.view} height {r.committed_height} stable h{r.stable.height} "
                  f"dropped {dict(r.dropped)}")
            for tick, text in r.events:
                print(f"    t={tick} {text}")
    return sim


def lines(sim, pattern):
    return [line for line in sim.transcript if re.search(pattern, line)]


def events(sim, rid, pattern):
    return [text for _, text in sim.nodes[rid].replica.events if re.search(pattern, text)]


def assert_all_committed(sim, heights=None):
    assert not sim.violations, sim.violations
    chains = {rid: sim.committed[rid] for rid, node in sim.nodes.items() if node.correct}
    first = next(iter(chains.values()))
    for rid, chain in chains.items():
        assert chain == first, f"{rid} disagrees"
    if heights is not None:
        assert len(first) == heights


def test_primary_crash_and_view_change():
    sim = run_scenario(4, crashes=[("R0", 1, None)], requests=[(3, i, True, "R1") for i in range(3)])
    assert lines(sim, r"R0 CRASHES")
    for rid in ("R1", "R2", "R3"):
        assert events(sim, rid, r"request timer expired in v0")
        assert events(sim, rid, r"NEW-VIEW v1 from R1")
    assert lines(sim, r"R1 -> \* NEW-VIEW v1 vcs=3 re-proposed=0")
    assert lines(sim, r"R1 -> \* PRE-PREPARE v1 h1 3tx")
    assert len(lines(sim, r"COMMITTED h1 3tx .* cert v1")) == 3
    assert_all_committed(sim, heights=1)


def test_equivocating_primary():
    sim = run_scenario(4, behaviours={"R0": Equivocator()}, requests=[(3, i, True, "R1") for i in range(3)])
    twins = lines(sim, r"R0 -> \S+ PRE-PREPARE v0 h1")
    assert len(twins) == 2 and twins[0].split()[-1] != twins[1].split()[-1], "R0 sent two different blocks"
    # No correct replica commits either twin in view 0 on its own; the view change settles on one.
    assert not lines(sim, r"COMMITTED h1 .* cert v0")
    assert lines(sim, r"NEW-VIEW v1 vcs=3 re-proposed=1")
    assert_all_committed(sim)
    assert all(len(sim.committed[r]) >= 2 for r in ("R1", "R2", "R3"))  # every request got in


def test_lagging_replica_catches_up_by_state_transfer():
    # R3 is cut off while eight blocks commit and checkpoints make the log below them garbage.
    requests = [(2 + 8 * i, i, True, "R1") for i in range(16)]
    sim = run_scenario(4, partitions=[(("R3",), 1, 200)], requests=requests)
    assert lines(sim, r"partition \['R3'\] heals")
    assert events(sim, "R1", r"checkpoint h4 stable")
    assert events(sim, "R3", r"fetch h1\.\.")
    assert events(sim, "R3", r"committed h1 .*state transfer")
    assert sim.nodes["R3"].replica.stable.height >= 4
    assert_all_committed(sim)


def test_partition_of_the_primary_that_heals():
    sim = run_scenario(4, partitions=[(("R0",), 2, 250)], requests=[(5, i, True, "R1") for i in range(4)])
    assert lines(sim, r"PARTITION \['R0'\]")
    for rid in ("R1", "R2", "R3"):
        assert events(sim, rid, r"NEW-VIEW v1 from R1")
    assert lines(sim, r"COMMITTED h1 .* cert v1")
    assert lines(sim, r"partition \['R0'\] heals")
    # After the heal the old primary learns what it missed and commits the same blocks.
    assert len(sim.committed["R0"]) == len(sim.committed["R1"]) >= 1
    assert_all_committed(sim)


def test_two_view_changes_in_a_row():
    crashes = [("R0", 1, None), ("R1", 1, None)]  # f = 2 for n = 7: the primaries of v0 and v1 are down
    sim = run_scenario(7, crashes=crashes, requests=[(3, i, True, "R2") for i in range(3)])
    for rid in ("R2", "R3", "R4", "R5", "R6"):
        assert events(sim, rid, r"VIEW-CHANGE to v1")
        assert events(sim, rid, r"view change to v1 timed out")
        assert events(sim, rid, r"NEW-VIEW v2 from R2")
    assert not lines(sim, r"NEW-VIEW v1")
    assert lines(sim, r"COMMITTED h1 3tx .* cert v2")
    assert_all_committed(sim, heights=1)


@pytest.mark.parametrize("n", [4, 5, 6, 7])
def test_crash_and_restart_from_persisted_bytes(n):
    requests = [(2 + 6 * i, i, True, "R1") for i in range(8)]
    sim = run_scenario(n, crashes=[("R2", 20, 90)], requests=requests)
    assert lines(sim, r"R2 RESTARTS from its persisted state")
    assert_all_committed(sim)
    assert len(sim.committed["R2"]) >= 3
