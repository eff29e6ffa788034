"""Replay one simulator schedule with its full transcript.

    .venv/bin/python -m tests.ledger.pbft.replay --seed 17 --n 5 [--mutant weak-quorum]
"""

from __future__ import annotations

import argparse

from ledger.pbft.replica import Replica
from ledger.pbft.simulation import Simulation, random_schedule
from tests.ledger.pbft.mutants import MUTANTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--mutant", choices=sorted(MUTANTS), default=None)
    args = parser.parse_args(argv)
    schedule = random_schedule(args.seed, args.n)
    sim = Simulation(schedule, factory=MUTANTS.get(args.mutant, Replica), transcript=True).run()
    print(f"schedule: {schedule.summary()}")
    print("\n".join(sim.transcript))
    print(f"stopped at t={sim.stopped_at}; drops at correct replicas: {sim.dropped()}")
    for rid, node in sim.nodes.items():
        r = node.replica
        if r is not None:
            print(f"{rid}: view {r.view}{'' if r.active else ' (changing)'} height {r.committed_height} "
                  f"stable h{r.stable.height}")
    print("violations:", *(sim.violations or ["none"]), sep="\n  ")
    return 1 if sim.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
