"""Shared by the PBFT tests: running seeds and reporting failures with their replay command."""

from __future__ import annotations

from ledger.pbfttest.simulation import replay_command, run_schedule


def check_seeds(seeds, *, n=None, client="runtime") -> list[str]:
    """Run each seed; a message per failing seed with the command that replays it."""
    failures = []
    for seed in seeds:
        sim = run_schedule(seed, n, client=client)
        if sim.violations:
            failures.append(
                f"seed {seed} ({sim.schedule.summary()}):\n    " + "\n    ".join(sim.violations[:5])
                + f"\n  replay: {replay_command(seed, sim.schedule.n, client=client)}"
            )
    return failures
