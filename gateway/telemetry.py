"""Status and meter data from OCPP, handed to monitoring (its ingest entry point); monitoring's
refusals become OCPP errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from ocpp.exceptions import PropertyConstraintViolationError

from gateway.dbthreads import db
from monitoring import ingest

logger = logging.getLogger("pilechain.gateway")


def _refused(exc) -> PropertyConstraintViolationError:
    return PropertyConstraintViolationError(description=str(exc)[:200], details={"cause": str(exc)[:200]})


def status(*, pile_code: str, connector_id: int, status: str, error_code: str, info: str, timestamp: dt.datetime,
           source: str) -> None:
    try:
        ingest.record_status(
            pile_code=pile_code, connector_id=connector_id, status=status, error_code=error_code or "",
            info=info or "", timestamp=timestamp, source=source,
        )
    except ValueError as exc:
        raise _refused(exc) from None


class MeterBatcher:
    """Group commit for MeterValues: the messages of all piles connected to this process that arrive
    within a few milliseconds are stored in one database transaction (monitoring's
    record_meter_values_many). Each pile still gets its answer only once its readings are stored,
    and a refused message is refused alone."""

    def __init__(self, *, max_wait_s: float = 0.01, max_messages: int = 200):
        self.max_wait_s, self.max_messages = max_wait_s, max_messages
        self.pending: list[tuple[dict, asyncio.Future]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def add(self, message: dict) -> int:
        """Store `message` with the next batch; returns what monitoring stored for it once the batch is
        stored, or raises its refusal (a refused message is refused alone)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((message, future))
        if len(self.pending) >= self.max_messages:
            self._flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.max_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if batch:
            asyncio.get_running_loop().create_task(self._store(batch))

    async def _store(self, batch) -> None:
        try:
            results = await db(ingest.record_meter_values_many)([message for message, _ in batch])
        except Exception as exc:  # the database itself failed: every message of the batch is refused
            logger.exception("storing %d MeterValues failed", len(batch))
            results = [exc] * len(batch)
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, ValueError):
                future.set_exception(_refused(result))
            elif isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


_batchers: dict[int, MeterBatcher] = {}


async def meter_values_batched(*, pile_code: str, connector_id: int, samples: list[dict]) -> None:
    """A MeterValues' samples to monitoring, from a consumer's event loop, in a group commit with
    other piles'."""
    if not samples:
        return
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(id(loop))
    if batcher is None:
        batcher = _batchers[id(loop)] = MeterBatcher()
    await batcher.add({"pile_code": pile_code, "connector_id": connector_id, "samples": samples})


def connection(*, pile_code: str, up: bool, at: dt.datetime) -> None:
    try:
        ingest.record_connection(pile_code=pile_code, up=up, at=at)
    except ValueError as exc:
        logger.warning("connection of %s not recorded: %s", pile_code, exc)


def heartbeat(*, pile_code: str) -> None:
    try:
        ingest.record_heartbeat(pile_code=pile_code)
    except ValueError as exc:
        logger.warning("heartbeat of %s not recorded: %s", pile_code, exc)
