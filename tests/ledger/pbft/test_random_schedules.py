"""Seeded random schedules: requests, at least one faulty replica and a network fault each, for
n = 4..7 (n = 4 + seed % 4). Agreement, validity and liveness are checked after every run.

The client is the runtime's (each request submitted once, at one node, never re-sent by a client);
a few seeds also run with the textbook retrying client, which stays available as an option.

Soak: PILECHAIN_SOAK=1 PILECHAIN_SOAK_COUNT=20000 runs many more seeds (opt-in, not in CI).
"""

from __future__ import annotations

import os

import pytest

from tests.ledger.pbft.helpers import check_seeds

DEFAULT_SEEDS = 1000
CHUNK = 20


@pytest.mark.parametrize("start", range(0, DEFAULT_SEEDS, CHUNK), ids=lambda s: f"seeds{s}-{s + CHUNK - 1}")
def test_random_schedules_keep_invariants(start):
    failures = check_seeds(range(start, start + CHUNK))
    assert not failures, "\n".join(failures)


RETRYING_SEEDS = range(0, 20)


def test_random_schedules_with_the_retrying_client():
    failures = check_seeds(RETRYING_SEEDS, client="retrying")
    assert not failures, "\n".join(failures)


SOAK = os.environ.get("PILECHAIN_SOAK") == "1"
SOAK_COUNT = int(os.environ.get("PILECHAIN_SOAK_COUNT", "20000"))
SOAK_FIRST = int(os.environ.get("PILECHAIN_SOAK_FIRST", "1000000"))
SOAK_CHUNK = 200


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="opt-in: PILECHAIN_SOAK=1 [PILECHAIN_SOAK_COUNT=N]")
@pytest.mark.parametrize("chunk", range((SOAK_COUNT + SOAK_CHUNK - 1) // SOAK_CHUNK) if SOAK else [0])
def test_soak(chunk):
    first = SOAK_FIRST + chunk * SOAK_CHUNK
    last = min(SOAK_FIRST + SOAK_COUNT, first + SOAK_CHUNK)
    failures = check_seeds(range(first, last))
    assert not failures, "\n".join(failures)
