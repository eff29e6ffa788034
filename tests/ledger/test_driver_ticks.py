"""The driver gives its replica one tick per LEDGER_TICK_MS of monotonic time, also when its turns take
longer than a tick (a loaded machine), so the replica's timeouts, counted in ticks, keep their length
in seconds; after a long pause the rest is dropped (ledger.runtime.driver.Driver._tick)."""

from __future__ import annotations

import pytest

from ledger.runtime.driver import MAX_TICKS_PER_TURN, Driver

pytestmark = pytest.mark.django_db


class Ticked:
    def __init__(self):
        self.ticks = 0

    def tick(self, now_ms: int) -> None:
        self.ticks += 1


@pytest.fixture
def driver(ledger_node, monkeypatch):
    # The tests' definition checkpoints every 16 blocks; a replica's window must hold two of them.
    monkeypatch.setitem(ledger_node.definition.timeouts, "window", 32)
    d = Driver(send=lambda peer, wires: None)
    d.replica = Ticked()
    d.tick_s = 0.05
    d._next_tick = 100.0
    return d


def test_turns_slower_than_a_tick_still_give_one_tick_per_tick_length(driver):
    now, given = 100.0, []
    for _ in range(50):  # turns of 120 ms: the last at 5.88 s
        given.append(driver._tick(now))
        now += 0.12
    assert driver.replica.ticks == 118 == sum(given)  # the ticks due at 0, 50 ms, ... 5.85 s; not one per turn
    assert max(given) == 3


def test_a_turn_inside_the_current_tick_gives_none(driver):
    assert driver._tick(100.0) == 1
    assert driver._tick(100.01) == 0 and driver._tick(100.049) == 0
    assert driver._tick(100.05) == 1


def test_after_a_long_pause_the_ticks_beyond_the_cap_are_dropped_not_owed(driver):
    assert driver._tick(110.0) == MAX_TICKS_PER_TURN  # 10 s paused: 200 ticks due, 20 given
    assert driver._tick(110.01) == 0  # the remainder is not carried into the next turns
    assert driver._tick(110.06) == 1
