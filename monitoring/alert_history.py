"""This node's alert history: each alert gets its sequence number here, as it leaves the node, and a
subscriber that lost its connection asks for what came after the last one it saw.

`seq` is the id of the alert's AlertRecord row: per node, increasing, shared by the node's processes
and kept across restarts. Publishing takes a lock on the history that is held from the row's insert
to the commit, and the alert is sent to the live subscribers inside it, so alerts are numbered,
sent and made visible in one order. A replay takes the same lock in shared mode, so it waits for an
alert that was sent live but is not committed yet: an alert is in the replay or reaches the
subscriber live, never neither (see monitoring.consumers for the live side).

Bounded: only the newest MONITORING_ALERT_HISTORY alerts are kept (pruned as alerts are recorded).
A subscriber asking for alerts older than that is told so with a "gap"; one whose last seq is ahead
of the history (the node's database was replaced) gets a "reset".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from django.db import connection, transaction

from monitoring import conf
from monitoring.models import AlertRecord

logger = logging.getLogger("pilechain.monitoring")

REPLAY_CHUNK = 500


@dataclass(frozen=True)
class Replay:
    """What a subscriber that saw up to `after` is owed: `alerts` in order; `upto` the last seq the
    history held when it was read (what the subscriber has now been given everything up to);
    `gap` when alerts after `after` were already pruned (`first` is the oldest still held);
    `reset` when `after` is beyond anything this node numbered."""

    after: int | None
    upto: int
    alerts: list = field(default_factory=list)
    gap: bool = False
    reset: bool = False
    first: int | None = None


def outcome(after: int, oldest: int | None, newest: int | None) -> str:
    """'reset', 'gap' or 'ok' for a subscriber's last seq against the seqs the history holds."""
    if newest is None:
        return "reset" if after > 0 else "ok"
    if after > newest:
        return "reset"
    if oldest is not None and after < oldest - 1:
        return "gap"
    return "ok"


def parse_after(value) -> int | None:
    """A subscriber's `after`: a non-negative integer (as a number or decimal digits); None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ValueError("after must be the seq of the last alert received (an integer >= 0)")
    number = int(value)
    if number < 0 or number > 2**63 - 1:
        raise ValueError("after must be the seq of the last alert received (an integer >= 0)")
    return number


def _lock(*, exclusive: bool) -> None:
    """Inside a transaction. PostgreSQL: a table lock (publishers exclude each other; a replay waits
    for publishers in flight and holds new ones back while it reads). SQLite: settings make every
    transaction IMMEDIATE, which already takes the database's write lock at BEGIN."""
    if connection.vendor == "postgresql":
        mode = "SHARE ROW EXCLUSIVE" if exclusive else "SHARE"
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {AlertRecord._meta.db_table} IN {mode} MODE")


def with_seq(record: AlertRecord) -> dict:
    return {**record.alert, "seq": record.pk}


def record(alert: dict, send: Callable[[dict], None]) -> dict:
    """Number the alert, keep it, `send` it to the live subscribers (inside the lock) and return it
    with its seq. Call it outside a transaction of the caller's (after the commit that caused it).
    A failing `send` is logged: the alert is kept for replay all the same."""
    with transaction.atomic():
        _lock(exclusive=True)
        stored = AlertRecord.objects.create(alert={k: v for k, v in alert.items() if k != "seq"})
        numbered = with_seq(stored)
        AlertRecord.objects.filter(pk__lte=stored.pk - conf.alert_history()).delete()
        try:
            send(numbered)
        except Exception:
            # Kept all the same: a subscriber that reconnects gets it from here.
            logger.exception("alert %s (seq %s) not pushed to websocket subscribers", alert.get("id"), stored.pk)
    return numbered


def replay(after: int | None, wanted: Callable[[dict], bool]) -> Replay:
    """The alerts after `after` that `wanted` keeps, in seq order, as one consistent read; with
    `after` None only the history's newest seq (where a new subscriber's live alerts start)."""
    with transaction.atomic():
        _lock(exclusive=False)
        newest = AlertRecord.objects.order_by("-pk").values_list("pk", flat=True).first()
        if after is None:
            return Replay(after=after, upto=newest or 0)
        oldest = AlertRecord.objects.order_by("pk").values_list("pk", flat=True).first()
        verdict = outcome(after, oldest, newest)
        if verdict == "reset":
            return Replay(after=after, upto=newest or 0, reset=True)
        found, cursor = [], after
        while newest is not None and cursor < newest:
            chunk = list(AlertRecord.objects.filter(pk__gt=cursor, pk__lte=newest).order_by("pk")[:REPLAY_CHUNK])
            if not chunk:
                break
            found.extend(alert for alert in map(with_seq, chunk) if wanted(alert))
            cursor = chunk[-1].pk
    return Replay(after=after, upto=newest or 0, alerts=found, gap=verdict == "gap",
                  first=oldest if verdict == "gap" else None)
