"""A node's numbered history of what it pushed to websocket subscribers (alerts, live events), for
a subscriber that lost its connection to ask for what came after the last one it saw.

`seq` is the id of the history's row: per node, increasing, shared by the node's processes and kept
across restarts. Publishing takes a lock on the history that is held from the row's insert to the
commit, and the item is sent to the live subscribers inside it, so items are numbered, sent and
made visible in one order. A replay takes the same lock in shared mode, so it waits for an item that
was sent live but is not committed yet: an item is in the replay or reaches the subscriber live,
never neither (see monitoring.streams for the live side).

Bounded: only the newest `keep()` rows are kept (pruned as items are recorded). A subscriber asking
for items older than that is told so with a "gap"; one whose last seq is ahead of the history (the
node's database was replaced) gets a "reset".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from django.db import connection, transaction

logger = logging.getLogger("pilechain.monitoring")

REPLAY_CHUNK = 500


@dataclass(frozen=True)
class Replay:
    """What a subscriber that saw up to `after` is owed: `items` in order; `upto` the last seq the
    history held when it was read (what the subscriber has now been given everything up to);
    `gap` when items after `after` were already pruned (`first` is the oldest still held);
    `reset` when `after` is beyond anything this node numbered."""

    after: int | None
    upto: int
    items: list = field(default_factory=list)
    gap: bool = False
    reset: bool = False
    first: int | None = None

    @property
    def alerts(self) -> list:
        return self.items


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
        raise ValueError("after must be the seq of the last message received (an integer >= 0)")
    number = int(value)
    if number < 0 or number > 2**63 - 1:
        raise ValueError("after must be the seq of the last message received (an integer >= 0)")
    return number


class History:
    """The history kept in `model` (a BigAutoField id and one JSON field named `field`), bounded to
    `keep()` rows; `numbered(item, seq)` is what subscribers get."""

    def __init__(self, model, field: str, keep: Callable[[], int], numbered: Callable[[object, int], dict]):
        self.model, self.field, self.keep, self.numbered = model, field, keep, numbered

    def _lock(self, *, exclusive: bool) -> None:
        """Inside a transaction. PostgreSQL: a table lock (publishers exclude each other; a replay
        waits for publishers in flight and holds new ones back while it reads). SQLite: settings make
        every transaction IMMEDIATE, which already takes the database's write lock at BEGIN."""
        if connection.vendor == "postgresql":
            mode = "SHARE ROW EXCLUSIVE" if exclusive else "SHARE"
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {self.model._meta.db_table} IN {mode} MODE")

    def _row(self, row) -> dict:
        return self.numbered(getattr(row, self.field), row.pk)

    def record(self, item, send: Callable[[dict], None]) -> dict:
        """Number the item, keep it, `send` it to the live subscribers (inside the lock) and return it
        numbered. Call it outside a transaction of the caller's (after the commit that caused it).
        A failing `send` is logged: the item is kept for replay all the same."""
        with transaction.atomic():
            self._lock(exclusive=True)
            stored = self.model.objects.create(**{self.field: item})
            numbered = self._row(stored)
            self.model.objects.filter(pk__lte=stored.pk - self.keep()).delete()
            try:
                send(numbered)
            except Exception:
                # Kept all the same: a subscriber that reconnects gets it from here.
                logger.exception("%s %s not pushed to websocket subscribers", self.model.__name__, stored.pk)
        return numbered

    def replay(self, after: int | None, select: Callable[[dict], dict | None]) -> Replay:
        """The items after `after` as `select` narrows them (None: left out), in seq order, as one
        consistent read; with `after` None only the history's newest seq (where a new subscriber's
        live items start)."""
        with transaction.atomic():
            self._lock(exclusive=False)
            newest = self.model.objects.order_by("-pk").values_list("pk", flat=True).first()
            if after is None:
                return Replay(after=after, upto=newest or 0)
            oldest = self.model.objects.order_by("pk").values_list("pk", flat=True).first()
            verdict = outcome(after, oldest, newest)
            if verdict == "reset":
                return Replay(after=after, upto=newest or 0, reset=True)
            found, cursor = [], after
            while newest is not None and cursor < newest:
                chunk = list(self.model.objects.filter(pk__gt=cursor, pk__lte=newest).order_by("pk")[:REPLAY_CHUNK])
                if not chunk:
                    break
                for row in chunk:
                    kept = select(self._row(row))
                    if kept is not None:
                        found.append(kept)
                cursor = chunk[-1].pk
        return Replay(after=after, upto=newest or 0, items=found, gap=verdict == "gap",
                      first=oldest if verdict == "gap" else None)
