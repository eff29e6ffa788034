"""A node that cannot apply the next block: when to try again, what its status says, the alert.

When applying a block fails for a reason of this node's own (ledger.failures: a lost connection,
a timeout, a full disk, an error of its database engine), the block's transaction rolled back and
nothing changed. The drain loop tries again after a backoff that doubles up to
PILECHAIN_APPLY_RETRY_MAX_S; it never applies the block differently. Meanwhile the replica goes on
taking part in consensus as far as it can (it votes for no new block before it has applied the last).

The record is kept in Redis under the node's prefix, not in the database (which may be what
failed), so that /api/ledger/status/ (`apply`) and /healthz (`checks.ledger`) can say so:

    {"state": "retrying", "stage": "apply", "height": 12, "tx_id": "...", "kind": "operational",
     "error": "OperationalError", "detail": "OperationalError: server closed the connection ...",
     "since": "2026-...Z", "attempts": 4, "last_attempt_at": "...", "next_attempt_at": "...",
     "alerted": false, "alert_after_s": 60.0}

`state` is "ok" (and nothing else) when the node is not stalled. Once the failure has lasted
PILECHAIN_APPLY_ALERT_AFTER_S (at once for a failure that waiting will not mend: an engine error, a
bug of the executor), the alert `apply_stalled` is raised (ledger.alerts), once; when the block is
applied at last, `apply_stalled` is resolved and the record removed. A driver that takes over keeps
the record, so the time counts from the first failure.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

from django.conf import settings
from django.utils import timezone

from ledger.alerts import APPLY_STALLED, raise_alert
from ledger.failures import OPERATIONAL, NodeFault, describe
from ledger.runtime import wake

logger = logging.getLogger("pilechain.ledger.driver")

FIRST_RETRY_S = 0.25
OK = {"state": "ok"}


def _key() -> str:
    return f"pilechain:{settings.NODE_CODE}:ledger-apply"


def _client():
    return wake.client()


def read(client=None) -> dict:
    """This node's record, or {"state": "ok"}."""
    raw = (client or _client()).get(_key())
    if not raw:
        return dict(OK)
    try:
        record = json.loads(raw)
    except ValueError:
        return dict(OK)
    return record if isinstance(record, dict) else dict(OK)


def backoff_s(attempts: int, max_s: float) -> float:
    """The wait after the n-th failure in a row: 0.25 s, 0.5 s, 1 s, ... up to max_s."""
    return min(max_s, FIRST_RETRY_S * 2 ** min(max(attempts - 1, 0), 30))


class Stall:
    """The drain loop's view of its failures to apply: `due()` before trying, then `failed(fault)`
    or `recovered()`."""

    def __init__(self, *, max_s: float | None = None, alert_after_s: float | None = None, clock=time.monotonic):
        self.max_s = settings.LEDGER_APPLY_RETRY_MAX_S if max_s is None else max_s
        self.alert_after_s = settings.LEDGER_APPLY_ALERT_AFTER_S if alert_after_s is None else alert_after_s
        self.clock = clock
        self.next_at = 0.0
        try:
            found = read()
        except Exception:  # Redis down: the loop finds out soon enough
            logger.exception("could not read this node's apply status")
            found = dict(OK)
        self.record: dict | None = found if found.get("state") == "retrying" else None

    @property
    def stalled(self) -> bool:
        return self.record is not None

    def due(self) -> bool:
        return self.clock() >= self.next_at

    def wait_s(self) -> float:
        return max(0.0, self.next_at - self.clock())

    def failed(self, fault: NodeFault, *, stage: str = "apply") -> dict:
        now = timezone.now()
        record = self.record
        if record is None or (fault.height is not None and record.get("height") not in (None, fault.height)):
            record = {"state": "retrying", "since": now.isoformat(), "attempts": 0, "alerted": False}
        attempts = record["attempts"] + 1
        delay = backoff_s(attempts, self.max_s)
        record.update(
            stage=stage, height=fault.height if fault.height is not None else record.get("height"),
            tx_id=fault.tx_id, kind=fault.kind, error=fault.error, detail=describe(fault.cause),
            attempts=attempts, last_attempt_at=now.isoformat(),
            next_attempt_at=(now + dt.timedelta(seconds=delay)).isoformat(), alert_after_s=self.alert_after_s,
        )
        self.record = record
        self.next_at = self.clock() + delay
        log = logger.warning if attempts == 1 or attempts % 10 == 0 else logger.info
        log("cannot apply block %s (attempt %s, %s): %s; trying again in %.2f s", record["height"], attempts,
            fault.kind, record["detail"], delay, exc_info=fault.cause if attempts == 1 else None,
            extra={"apply": record})
        lasted = (now - dt.datetime.fromisoformat(record["since"])).total_seconds()
        if not record["alerted"] and (fault.kind != OPERATIONAL or lasted >= self.alert_after_s):
            record["alerted"] = True
            raise_alert(APPLY_STALLED, message=f"block {record['height']} not applied for {lasted:.0f} s: "
                                               f"{record['detail']}", **_alert_fields(record))
        self._store(record)
        return record

    def recovered(self) -> None:
        record, self.record = self.record, None
        self.next_at = 0.0
        if record is None:
            return
        logger.info("block %s applied after %s failed attempts", record.get("height"), record.get("attempts"))
        if record.get("alerted"):
            raise_alert(APPLY_STALLED, phase="resolved", message=f"block {record.get('height')} applied",
                        **_alert_fields(record))
        try:
            _client().delete(_key())
        except Exception:
            logger.exception("could not clear this node's apply status")

    def _store(self, record: dict) -> None:
        try:
            _client().set(_key(), json.dumps(record))
        except Exception:  # the status is for people; the retry goes on without it
            logger.exception("could not record this node's apply status")


def _alert_fields(record: dict) -> dict:
    return {k: record.get(k) for k in ("height", "tx_id", "stage", "kind", "error", "detail", "since", "attempts")}
