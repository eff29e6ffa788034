"""Replay one simulator schedule, or one named liveness scenario, with its full transcript.

    .venv/bin/python -m tests.ledger.pbft.replay --seed 17 --n 5 [--mutant weak-quorum] [--client retrying]
    .venv/bin/python -m tests.ledger.pbft.replay --scenario checkpoints-lost
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from ledger.pbft.replica import Replica
from ledger.pbfttest.simulation import CLIENTS, Simulation, random_schedule
from tests.ledger.pbft.liveness import SCENARIOS
from tests.ledger.pbft.mutants import MUTANTS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--seed", type=int, help="a random schedule")
    what.add_argument("--scenario", choices=sorted(SCENARIOS), help="a named liveness scenario")
    parser.add_argument("--n", type=int, default=None, help="replicas (random schedules: 4 + seed %% 4)")
    parser.add_argument("--mutant", choices=sorted(MUTANTS), default=None)
    parser.add_argument("--client", choices=CLIENTS, default="runtime",
                        help="runtime: one submission at one node (default); retrying: the textbook client")
    args = parser.parse_args(argv)
    if args.scenario is not None:
        if args.n is not None or args.mutant is not None or args.client != "runtime":
            parser.error("--scenario takes no --n, --mutant or --client: the scenario fixes them")
        sim = SCENARIOS[args.scenario]()
        schedule = sim.schedule
    else:
        schedule = replace(random_schedule(args.seed, args.n), client=args.client)
        sim = Simulation(schedule, factory=MUTANTS.get(args.mutant, Replica), transcript=True)
    sim.run()
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
