"""Group commit for the OCPP consumers: the messages of one kind (MeterValues, status changes,
heartbeats, last-seen touches) that the piles connected to this process send within a few
milliseconds are stored in one database transaction, on a pool thread (gateway.dbthreads). With
thousands of piles a transaction per message would spend the database's time on commits. Each pile
still gets its answer only once its own message is stored, and a refused message is refused alone;
a batch that lost a deadlock is stored once more, and one the database failed is refused whole."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from django.db import OperationalError

from gateway import events, telemetry
from gateway.dbthreads import db

logger = logging.getLogger("pilechain.gateway")

MAX_WAIT_S = 0.01
MAX_MESSAGES = 200
MAX_IN_FLIGHT = 2


class GroupCommit:
    """`store_many(messages)` stores a list of messages in one transaction and returns, per message,
    its result or the exception refusing it.

    A batch leaves `max_wait_s` after its first message, or at once with `max_messages`. At most
    `max_in_flight` batches are being stored at a time: the messages that arrive meanwhile wait and
    go together as soon as one is stored, so batches grow with the load and a busy gateway spends its
    database time on rows rather than on transactions."""

    def __init__(self, store_many: Callable[[list], list], *, max_wait_s: float = MAX_WAIT_S,
                 max_messages: int = MAX_MESSAGES, max_in_flight: int = MAX_IN_FLIGHT):
        self.store_many, self.max_wait_s, self.max_messages = store_many, max_wait_s, max_messages
        self.max_in_flight = max_in_flight
        self.pending: list[tuple[object, asyncio.Future]] = []
        self.timer: asyncio.TimerHandle | None = None
        self.in_flight = 0

    async def add(self, message):
        """Store `message` with the next batch; returns its result once the batch is stored, or raises
        its refusal."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((message, future))
        if len(self.pending) >= self.max_messages:
            self._flush()
        elif self.timer is None and self.in_flight < self.max_in_flight:
            self.timer = loop.call_later(self.max_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.in_flight >= self.max_in_flight or not self.pending:
            return  # a batch being stored sends what waits once it is done
        batch, self.pending = self.pending[:self.max_messages], self.pending[self.max_messages:]
        self.in_flight += 1
        asyncio.get_running_loop().create_task(self._store(batch))

    async def _store(self, batch) -> None:
        try:
            results = await self._results([message for message, _ in batch])
        finally:
            self.in_flight -= 1
            self._flush()  # what arrived meanwhile has waited long enough
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _results(self, messages: list) -> list:
        try:
            try:
                return await db(self.store_many)(messages)
            except OperationalError as exc:
                if not _rolled_back(exc):
                    raise
                logger.warning("storing %d messages hit %s; retrying", len(messages), exc)
                return await db(self.store_many)(messages)
        except Exception as exc:  # the database itself failed: every message of the batch is refused
            logger.exception("storing %d messages failed", len(messages))
            return [exc] * len(messages)


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back, so
# storing the batch again cannot store anything twice (a dropped connection could have committed).
ROLLED_BACK = {"40P01", "40001"}


def _rolled_back(exc: Exception) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in ROLLED_BACK


STORES = {"meter": telemetry.meter_values, "status": events.status_many, "seen": events.seen_many,
          "touch": events.touch_many}
_batchers: dict[tuple[int, str], GroupCommit] = {}


def _batcher(kind: str) -> GroupCommit:
    """This event loop's group commit for `kind` (one per loop: a future belongs to its loop)."""
    key = (id(asyncio.get_running_loop()), kind)
    batcher = _batchers.get(key)
    if batcher is None:
        batcher = _batchers[key] = GroupCommit(STORES[kind])
    return batcher


async def meter_values(*, pile_code: str, connector_id: int, samples: list[dict]) -> int:
    """A MeterValues' samples to monitoring; the number stored."""
    if not samples:
        return 0
    return await _batcher("meter").add({"pile_code": pile_code, "connector_id": connector_id, "samples": samples})


async def status(pile_code: str, **change) -> None:
    """A connector's status change (events.status_many takes its fields)."""
    await _batcher("status").add({"pile_code": pile_code, **change})


async def seen(pile_code: str) -> None:
    """A Heartbeat."""
    await _batcher("seen").add(pile_code)


async def touch(pile_code: str) -> None:
    """The pile's last-seen time on the gateway page."""
    await _batcher("touch").add(pile_code)
