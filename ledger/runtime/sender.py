"""The drain loop's sender of peer messages (ledger.runtime.driver takes it from whoever builds the
driver): one thread and one HTTP connection per peer, batches cut under the peer's body limit."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import requests

from ledger.runtime import peers
from ledger.runtime.transport import pack

logger = logging.getLogger("pilechain.ledger.driver")

MAX_POST_BYTES = 8 * 1024 * 1024


class PeerSender:
    """Sends each peer's batches in order on a thread of its own (one HTTP connection per peer),
    so the loop never waits on the network. A batch whose POST fails goes to `retry(peer, body)`
    (ledger.tasks hands it to the Celery task `ledger.deliver`, which retries it with backoff)."""

    def __init__(self, *, retry: Callable[[str, bytes], None]):
        self._retry = retry
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._sessions: dict[str, requests.Session] = {}

    def __call__(self, peer: str, wires: list[bytes]) -> None:
        pool = self._pools.get(peer)
        if pool is None:
            pool = self._pools[peer] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"send-{peer}")
            self._sessions[peer] = requests.Session()
        chunk, size = [], 0
        for wire in wires:  # several POSTs rather than one body over the peer's limit
            if chunk and size + len(wire) > MAX_POST_BYTES:
                pool.submit(self._post, peer, pack(chunk))
                chunk, size = [], 0
            chunk.append(wire)
            size += len(wire) + 4
        if chunk:
            pool.submit(self._post, peer, pack(chunk))

    def _post(self, peer: str, body: bytes) -> None:
        try:
            peers.post_batch(peer, body, session=self._sessions[peer])
        except requests.RequestException:
            self._retry(peer, body)
        except Exception:  # a sender thread must survive anything; PBFT recovers lost messages
            logger.exception("sending to %s failed", peer)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True, cancel_futures=False)
