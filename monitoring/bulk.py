"""Fast paths for the telemetry tables on PostgreSQL: COPY for readings, one UPDATE ... FROM VALUES
for connector and pile states. Other databases use the ORM's bulk operations (same results, slower)."""

from __future__ import annotations

import io

from django.db import connection

from monitoring.models import ConnectorState, PileState, Reading

READING_COLUMNS = ("pile_id", "connector_id", "measurand", "phase", "context", "value", "unit", "ts", "source",
                   "received_at")
_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value) -> str:
    return str(value).translate(_ESCAPE)


def insert_readings(rows: list[tuple], *, source: str, now) -> None:
    """rows: (pile id, connector id, ingest.Sample)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Reading.objects.bulk_create([
            Reading(pile_id=pile_id, connector_id=connector_id, measurand=s.measurand, phase=s.phase, context=s.context,
                    value=s.value, unit=s.unit, ts=s.ts, source=source)
            for pile_id, connector_id, s in rows
        ], batch_size=5000)
        return
    tail = f"{_text(source)}\t{now.isoformat()}\n"
    buffer = io.StringIO()
    for pile_id, connector_id, s in rows:
        buffer.write(f"{pile_id}\t{connector_id}\t{_text(s.measurand)}\t{_text(s.phase)}\t{_text(s.context)}\t"
                     f"{s.value:f}\t{_text(s.unit)}\t{s.ts.isoformat()}\t{tail}")
    buffer.seek(0)
    table = Reading._meta.db_table
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(READING_COLUMNS)}) FROM STDIN", buffer)


STATE_COLUMNS = (("energy_wh", "numeric"), ("energy_at", "timestamptz"), ("power_w", "numeric"),
                 ("power_at", "timestamptz"), ("voltage_v", "numeric"), ("current_a", "numeric"),
                 ("updated_at", "timestamptz"), ("status", "varchar"), ("error_code", "varchar"),
                 ("status_at", "timestamptz"), ("source", "varchar"), ("live_sent_at", "timestamptz"))


def update_states(states: list[ConnectorState]) -> None:
    update_rows(ConnectorState, states, STATE_COLUMNS)


PILE_STATE_COLUMNS = (("last_seen_at", "timestamptz"), ("source", "varchar"), ("received_at", "timestamptz"),
                      ("online", "boolean"), ("online_at", "timestamptz"))


def update_pile_states(states: list[PileState]) -> None:
    """The live path's figures of these pile states (the receiver's), in one statement."""
    update_rows(PileState, states, PILE_STATE_COLUMNS)


def update_rows(model, rows: list, columns: tuple) -> None:
    """Write `columns` ((name, PostgreSQL type), ...) of these rows by primary key: one UPDATE ... FROM
    VALUES on PostgreSQL (Django's bulk_update builds a CASE per row and field, slow for thousands)."""
    if not rows:
        return
    names = [name for name, _ in columns]
    if connection.vendor != "postgresql":
        model.objects.bulk_update(rows, names)
        return
    values, params = [], []
    for row in rows:
        values.append("(" + ", ".join(["%s"] + [f"%s::{kind}" for _, kind in columns]) + ")")
        params.append(row.pk)
        params.extend(getattr(row, name) for name in names)
    table, pk = model._meta.db_table, model._meta.pk.column
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    sql = (f"UPDATE {table} AS t SET {assignments} FROM (VALUES {', '.join(values)}) "
           f"AS v(id, {', '.join(names)}) WHERE t.{pk} = v.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def locked_states(keys: list[tuple[int, int]]) -> dict:
    """The ConnectorState rows of (pile id, connector) keys, created where missing, locked in a fixed
    order (so that concurrent writers cannot deadlock)."""
    pile_ids = sorted({p for p, _ in keys})

    def load():
        found = ConnectorState.objects.select_for_update().filter(pile_id__in=pile_ids).order_by("pile_id", "connector_id")
        return {(st.pile_id, st.connector_id): st for st in found}

    states = load()
    missing = [k for k in keys if k not in states]
    if missing:
        ConnectorState.objects.bulk_create(
            [ConnectorState(pile_id=p, connector_id=c) for p, c in missing], ignore_conflicts=True
        )
        states = load()
    return states
