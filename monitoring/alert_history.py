"""This node's alert history (monitoring.history): each alert gets its sequence number as it leaves
the node, and a subscriber that lost its connection asks for what came after the last one it saw.
Bounded to MONITORING_ALERT_HISTORY alerts."""

from __future__ import annotations

from typing import Callable

from monitoring import conf
from monitoring.history import History, Replay, outcome, parse_after
from monitoring.models import AlertRecord

__all__ = ["Replay", "outcome", "parse_after", "record", "replay", "with_seq"]


def with_seq(alert: dict, seq: int) -> dict:
    return {**alert, "seq": seq}


_history = History(AlertRecord, "alert", conf.alert_history, with_seq)


def record(alert: dict, send: Callable[[dict], None]) -> dict:
    """Number the alert, keep it, `send` it to the live subscribers and return it with its seq."""
    return _history.record({k: v for k, v in alert.items() if k != "seq"}, send)


def replay(after: int | None, wanted: Callable[[dict], bool]) -> Replay:
    """The alerts after `after` that `wanted` keeps, in seq order (monitoring.history)."""
    return _history.replay(after, lambda alert: alert if wanted(alert) else None)
