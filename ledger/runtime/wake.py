"""A doorbell for the drain loop: the peer endpoint and submissions ring it, the loop waits on it
instead of polling the database."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def client() -> redis.Redis:
    """This node's Redis connection for the ledger's small keys (doorbell, stop flags, peers)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=30)


class Doorbell:
    """A doorbell in this node's Redis: `ring` from anywhere, `wait` in the one loop that answers."""

    def __init__(self, name: str):
        self.name = name

    def key(self) -> str:
        return f"pilechain:{settings.NODE_CODE}:{self.name}"

    def ring(self) -> None:
        pipe = client().pipeline()
        pipe.lpush(self.key(), b"1")
        pipe.ltrim(self.key(), 0, 0)  # one pending ring is enough
        pipe.execute()

    def wait(self, timeout_s: float) -> bool:
        """Block until rung or timeout; True when rung."""
        if timeout_s <= 0:
            return False
        return client().blpop([self.key()], timeout=blpop_timeout(timeout_s)) is not None


LEDGER = Doorbell("ledger-wake")


def _key() -> str:
    return LEDGER.key()


def ring() -> None:
    LEDGER.ring()


# The shortest wait asked of Redis. BLPOP takes seconds and turns them into whole milliseconds by
# truncation, and 0 means "block until rung": the embedded server (Redis 6.2) truncates 0.001 s to 0,
# so a loop whose next tick was less than a millisecond away waited until a peer rang, seconds
# later, its lease lapsing meanwhile (the embedded-mode stall of issue #15). Redis 6.2 checks
# timeouts every 100 ms anyway: nothing finer is lost.
MIN_WAIT_S = 0.01


def blpop_timeout(timeout_s: float) -> float:
    """The timeout to give BLPOP for a wait of `timeout_s` (> 0): never one a server reads as 0."""
    return max(timeout_s, MIN_WAIT_S)


def wait(timeout_s: float) -> bool:
    """Block until rung or timeout; True when rung."""
    return LEDGER.wait(timeout_s)


def _stop_key(worker: str) -> str:
    return f"pilechain:{settings.NODE_CODE}:ledger-stop:{worker}"


def request_stop(worker: str) -> None:
    """The worker `worker` (its Celery node name) is shutting down: its drain loop should let go."""
    client().set(_stop_key(worker), b"1", ex=120)
    ring()


def clear_stop(worker: str) -> None:
    client().delete(_stop_key(worker))


def stop_requested(worker: str) -> bool:
    return bool(client().exists(_stop_key(worker)))
