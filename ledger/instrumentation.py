"""Opt-in counting of signature verifications, for bench/consortium.py (PILECHAIN_COUNT_VERIFICATIONS=1).

Every process of a node (web, worker pool processes) counts its calls of PublicKey.verify and adds
them to one Redis counter now and then, so the benchmark reports verifications it counted across all
nodes instead of assuming how many there should be. Off by default: it patches a method.
"""

from __future__ import annotations

import os
import threading
import time

import redis
from django.conf import settings

from ledger.chain import crypto

COUNTER_KEY = "pilechain:bench:verifications"
FLUSH_EVERY_S = 0.5


def install() -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    original = crypto.PublicKey.verify
    lock = threading.Lock()
    state = {"pending": 0, "flushed_at": time.monotonic(), "pid": os.getpid()}

    def flush() -> None:
        with lock:
            n, state["pending"] = state["pending"], 0
            state["flushed_at"] = time.monotonic()
        if n:
            client.incrby(COUNTER_KEY, n)

    def counting_verify(self, signature, data):
        with lock:
            if state["pid"] != os.getpid():  # a forked pool process starts its own count
                state.update(pending=0, pid=os.getpid())
            state["pending"] += 1
            due = time.monotonic() - state["flushed_at"] >= FLUSH_EVERY_S
        if due:
            flush()
        return original(self, signature, data)

    crypto.PublicKey.verify = counting_verify

    def flusher():
        while True:
            time.sleep(FLUSH_EVERY_S)
            try:
                flush()
            except Exception:  # a benchmark counter must never take a node down
                pass

    threading.Thread(target=flusher, daemon=True).start()
