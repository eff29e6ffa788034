"""Where a node of tests/consortium finds its orders from the test (tests/consortium/faults.py reads
them inside the node) and what it leaves there for the test to see. No Django, no side effects: the
test process imports this, never faults.py."""

from __future__ import annotations

from pathlib import Path

DROP_REQUESTS = "drop-requests"  # while it exists, the node drops the REQUEST messages it sends
DROPPED_REQUESTS = "dropped-requests"  # one line "<peer> <count>" per batch it dropped some from


def faults_dir(var_dir: Path, node: str) -> Path:
    return Path(var_dir) / node / "faults"


def dropped_requests(var_dir: Path, node: str) -> int:
    """How many REQUEST messages the node dropped on their way out (a message to each peer counts)."""
    counts = faults_dir(var_dir, node) / DROPPED_REQUESTS
    if not counts.exists():
        return 0
    return sum(int(line.split()[1]) for line in counts.read_text().splitlines() if line.strip())
