"""Runs: consecutive transactions of one block that a single contract handler applies together.

High-volume contracts (a charging session opened or closed per pile and hour) cannot afford a
database round trip per read and write per transaction. Such a contract registers a *run handler*
(`ledger.contracts.register_run`): the executor hands it every consecutive transaction of its types
in the block at once, so it reads what the whole run needs in a few queries, decides each
transaction in memory, in block order, and stages its writes; the run then writes them in bulk.

The rules a run handler keeps, so that a run means the same as applying its transactions one by one:
- Each transaction is decided inside `with run.item(ctx):`. A rejection (`ctx.reject`, a
  ValidationError) there drops that transaction's staged writes; the others stand.
- Validate first, then change anything in memory: a rejected transaction must leave no trace in
  what later transactions of the run see.
- Writes go through `ctx.stage_insert` / `ctx.stage_update` (one transaction's rows, recorded in its
  write set) or `run.stage_update` / `run.stage_insert` (rows the whole run changes, such as running
  totals: recorded once, after the items' writes). Nothing is written to the database before `flush`.

Should the handler raise anything else (a bug: every node meets it alike), the executor rolls the
run back and applies its transactions one at a time (each a run of one); every node does the same, so
the state stays the same everywhere. A failure of the node itself (its database, ledger.failures)
is no reason to fall back: the whole block is aborted and applied again later.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from json.decoder import scanstring
from typing import Callable

from django.core.exceptions import ValidationError
from django.db import connection, models

from ledger.payload import ContractRejected
from ledger.state.bulk import bulk_insert, bulk_update
from ledger.state.rows import check_storable, entry_bytes, is_owned, kept_key


def validation_reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in sorted(exc.message_dict.items()))
    return " ".join(exc.messages)


class Run:
    """The transactions of one run (their contexts, in block order) and the writes they staged."""

    def __init__(self, contexts: list):
        self.items = contexts
        self.writes: list[tuple[str, bytes | None, bytes | None]] = []  # run-level, after the items'
        # model -> {id(instance): instance}, in the order models were first staged (parents first).
        self._inserts: dict[type, dict[int, models.Model]] = {}
        self._updates: dict[type, dict[int, models.Model]] = {}
        self._update_fields: dict[type, set[str]] = {}
        self._deletes: dict[type, dict[int, models.Model]] = {}
        for ctx in contexts:
            ctx.run = self
            ctx.rejected = None
            ctx.staged = []

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @contextmanager
    def item(self, ctx):
        """Decide one transaction: a rejection inside keeps the others and drops what it staged."""
        try:
            yield
        except ContractRejected as exc:
            self._reject(ctx, exc.reason)
        except ValidationError as exc:
            self._reject(ctx, validation_reason(exc))

    def _reject(self, ctx, reason: str) -> None:
        ctx.rejected = reason
        ctx.writes.clear()
        ctx.after_commit.clear()
        for kind, model, instance in ctx.staged:
            target = {"insert": self._inserts, "update": self._updates, "delete": self._deletes}[kind]
            target.get(model, {}).pop(id(instance), None)
        ctx.staged.clear()

    # Staging --------------------------------------------------------------------------------------

    def stage_insert(self, instance: models.Model, *, owner=None) -> bytes | None:
        """A new row; returns its state entry (None for rows the ledger does not own)."""
        model = type(instance)
        check_storable(instance)
        if instance.pk is None:
            instance.pk = kept_key(instance)
        self._inserts.setdefault(model, {})[id(instance)] = instance
        new = entry_bytes(instance) if is_owned(model) else None
        self._record(owner, "save", None, new, ("insert", model, instance))
        return new

    def stage_update(self, instance: models.Model, *, old: bytes | None, fields, owner=None) -> bytes | None:
        """A changed row whose state entry before the change is `old` (the caller encoded it when it
        loaded or last staged the row); `fields` are the columns that changed."""
        model = type(instance)
        check_storable(instance)
        new = entry_bytes(instance) if is_owned(model) else None
        if id(instance) not in self._inserts.get(model, {}):
            self._updates.setdefault(model, {})[id(instance)] = instance
            self._update_fields.setdefault(model, set()).update(fields)
        self._record(owner, "save", old, new, ("update", model, instance))
        return new

    def stage_delete(self, instance: models.Model, *, old: bytes | None, owner=None) -> None:
        """A stored row to delete (`old`: its entry as loaded); deleted when the run flushes, after
        the inserts and updates."""
        model = type(instance)
        self._deletes.setdefault(model, {})[id(instance)] = instance
        self._record(owner, "delete", old, None, ("delete", model, instance))

    def _record(self, owner, op, old, new, staged) -> None:
        writes = self.writes if owner is None else owner.writes
        if old is not None or new is not None:
            writes.append((op, old, new))
        if owner is not None:
            owner.staged.append(staged)

    def flush(self) -> None:
        """Write what the run staged: inserts model by model in the order first staged, then updates,
        then deletes."""
        for model, rows in self._inserts.items():
            if rows:
                bulk_insert(model, list(rows.values()), connection=connection)
        for model, rows in self._updates.items():
            if rows:
                bulk_update(model, list(rows.values()), sorted(self._update_fields[model]), connection=connection)
        for model, rows in self._deletes.items():
            if rows:
                model._base_manager.filter(pk__in=sorted(row.pk for row in rows.values()))._raw_delete(connection.alias)


RunHandler = Callable[[Run], None]


_KEY_AT = len(b'{"k":"')
_MODEL_AFTER_KEY = len(b',"m":"')


def _row_key(entry: bytes) -> tuple[str, str]:
    """(model label, public id) of a state entry, read from its head: an entry is canonical JSON
    with its keys sorted, so it starts {"k":"<public id>","m":"<label>"."""
    text = entry.decode("utf-8")
    if text.startswith('{"k":"'):
        key, end = scanstring(text, _KEY_AT)
        if text.startswith(',"m":"', end):
            model, _ = scanstring(text, end + _MODEL_AFTER_KEY)
            return model, key
    data = json.loads(entry)
    return data["m"], data["k"]


def net_writes(records) -> list[tuple[str, bytes | None, bytes | None]]:
    """The run-level writes of one run as the write set records them: one write per row, from its
    entry before the run to its entry after, in the order of the rows' (model, public id). A run
    applied at once and the same transactions applied one by one (the fallback) change those rows
    through different steps; this makes both record the same bytes."""
    first_old: dict[tuple[str, str], bytes | None] = {}
    last_new: dict[tuple[str, str], bytes | None] = {}
    ops: dict[tuple[str, str], str] = {}
    for op, old, new in records:
        key = _row_key(old if old is not None else new)
        if key not in first_old:
            first_old[key] = old
        last_new[key] = new
        ops[key] = op
    net = []
    for key in sorted(first_old):
        old, new = first_old[key], last_new[key]
        if old == new:
            continue  # changed and changed back: nothing to record, as the run at once would not
        net.append(("save" if new is not None else ops[key], old, new))
    return net


def apply_one(run_handler: RunHandler, ctx) -> None:
    """One transaction as a run of one (a dry run, a fallback, a lone transaction): raises the
    rejection as a plain contract would, so the caller's savepoint undoes its writes."""
    run = Run([ctx])
    run_handler(run)
    if ctx.rejected is not None:
        raise ContractRejected(ctx.rejected)
    run.flush()
    # Kept apart from the transaction's own writes: the executor nets a run's trailing writes.
    ctx.trailing = list(ctx.trailing) + run.writes
    ctx.run = None
