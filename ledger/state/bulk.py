"""Writing many rows at once, for contracts applied in runs (ledger.runs) and bulk inserts.

On PostgreSQL both inserts and updates go through COPY, which the server reads without parsing SQL:
inserts straight into the table (keys drawn from its sequence first), updates into a temporary table
of the new values that one UPDATE ... FROM joins on the primary key. A multi-row INSERT or VALUES
list of a thousand rows spends more time being parsed than written.

Elsewhere (SQLite): Django's bulk_create, and for updates a common table expression of the new
values joined on the primary key (SQLite 3.33 and later). Django's own bulk_update builds one CASE
WHEN per column with a branch per row, evaluated row by row against every branch.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json

from django.db import models

BATCH = 500


def bulk_update(model: type[models.Model], rows: list[models.Model], fields: list[str], *, connection) -> None:
    if not rows or not fields:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor == "postgresql" and _copyable([meta.pk, *columns]):
        _update_by_copy(model, rows, columns, connection=connection)
    else:
        _update_by_values(model, rows, columns, connection=connection)


def _update_by_copy(model, rows, columns, *, connection) -> None:
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    # One scratch table per target table and set of columns, kept for the connection's life and
    # emptied before each use (a rolled-back savepoint may have dropped it: IF NOT EXISTS).
    scratch = quote(f"pilechain_bulk_{meta.db_table}_{abs(hash(tuple(c.column for c in columns))) % 10**8}")
    names = ", ".join(quote(c.column) for c in [meta.pk, *columns])
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {names} FROM {table} WITH NO DATA")
        cursor.execute(f"TRUNCATE {scratch}")
        _copy_rows(cursor.cursor, scratch, names, rows, [meta.pk, *columns])
        assignments = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns)
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {scratch} AS v "
                       f"WHERE {table}.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}")


def _update_by_values(model, rows, columns, *, connection) -> None:
    meta = model._meta
    pk = meta.pk
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"

    def placeholder(field) -> str:
        return f"CAST(%s AS {field.db_type(connection)})" if postgres else "%s"

    row_sql = "(" + ", ".join(placeholder(f) for f in [pk, *columns]) + ")"
    names = ", ".join(["pk_", *[f"c{i}" for i in range(len(columns))]])
    assignments = ", ".join(f"{quote(f.column)} = v.c{i}" for i, f in enumerate(columns))
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            params = []
            for row in chunk:
                params.append(pk.get_db_prep_save(row.pk, connection))
                params.extend(f.get_db_prep_save(getattr(row, f.attname), connection) for f in columns)
            cursor.execute(
                f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(pk.column)} = v.pk_",
                params,
            )


def bulk_insert(model: type[models.Model], rows: list[models.Model], *, connection) -> None:
    """Insert new rows and set their primary keys where the database returns them (SQLite before 3.35
    does not: Django's bulk_create leaves them unset there). Rows that already have one keep it (a
    replay puts rows back under the keys they had, which the sequence handed out before)."""
    if not rows:
        return
    meta = model._meta
    stamped = any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in meta.concrete_fields)
    if connection.vendor != "postgresql" or stamped or not _copyable(meta.concrete_fields):
        model._base_manager.bulk_create(rows, batch_size=BATCH)
        return
    pk = meta.pk
    quote = connection.ops.quote_name
    for row in rows:
        for f in meta.concrete_fields:
            if isinstance(f, models.ForeignKey):
                # An object assigned before it was saved: take its key now that it has one. Assigned
                # again by name, as Django's own save does: setting the id alone would drop the cached
                # object, and the state entry of each row would then read it back with a query.
                related = f.get_cached_value(row, None)
                if related is not None and getattr(row, f.attname) is None:
                    setattr(row, f.name, related)
    fresh = [row for row in rows if row.pk is None]
    with connection.cursor() as cursor:
        if fresh:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [meta.db_table, pk.column, len(fresh)])
            for row, (key,) in zip(fresh, cursor.fetchall()):
                row.pk = key
        _copy_rows(cursor.cursor, quote(meta.db_table), ", ".join(quote(f.column) for f in meta.concrete_fields),
                   rows, meta.concrete_fields)
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias


# COPY (text format) ----------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_formatter(field):
    """How a value of `field` is written in COPY's text format, or None for a kind of field not known here."""
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        return lambda v: "\\N" if v is None else json.dumps(v, cls=encoder).translate(_ESCAPES)
    if isinstance(field, models.BooleanField):
        return lambda v: "\\N" if v is None else ("t" if v else "f")
    if isinstance(field, (models.IntegerField, models.AutoField, models.DecimalField, models.UUIDField)):
        return lambda v: "\\N" if v is None else str(field.to_python(v) if isinstance(v, str) else v)
    if isinstance(field, models.DateTimeField):
        def moment(v):
            if v is None:
                return "\\N"
            if not isinstance(v, dt.datetime) or v.tzinfo is None:
                raise ValueError(f"{field.name}: an aware datetime is required")
            return v.isoformat()
        return moment
    if isinstance(field, models.DateField):
        return lambda v: "\\N" if v is None else v.isoformat()
    if isinstance(field, (models.CharField, models.TextField)):
        return lambda v: "\\N" if v is None else str(v).translate(_ESCAPES)
    return None


def _copy_rows(cursor, table: str, columns: str, rows, fields) -> None:
    line = _line_writer(tuple(fields))
    buffer = io.StringIO()
    buffer.writelines(line(row) for row in rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


@functools.lru_cache(maxsize=256)
def _line_writer(fields: tuple):
    """One row's line of COPY text, compiled once per set of fields: each value of the common kind
    (an int, a plain printable string, an aware datetime, a bool) is written at once, anything else
    by its field's formatter above."""
    formatters = [_copy_formatter(f) for f in fields]
    parts = []
    for i, f in enumerate(fields):
        target = f.target_field if isinstance(f, models.ForeignKey) else f
        value, generic = f"r.{f.attname}", f"_g[{i}](v)"
        if isinstance(target, models.BooleanField):
            parts.append(f'("t" if (v := {value}) is True else "f" if v is False else {generic})')
        elif isinstance(target, (models.IntegerField, models.AutoField)):
            parts.append(f"(str(v) if (v := {value}).__class__ is int else {generic})")
        elif isinstance(target, models.DateTimeField):
            parts.append(f"(v.isoformat() if (v := {value}).__class__ is _datetime and v.tzinfo is not None "
                         f"else {generic})")
        elif isinstance(target, (models.CharField, models.TextField)):
            parts.append(f'(v if (v := {value}).__class__ is str and v.isprintable() and "\\\\" not in v '
                         f"else {generic})")
        else:
            parts.append(f"_g[{i}]({value})")
    source = "def line(r):\n    return '\\t'.join([" + ", ".join(parts) + "]) + '\\n'"
    namespace = {"_g": formatters, "_datetime": dt.datetime}
    exec(source, namespace)  # noqa: S102 - code built above from field names, not from data
    return namespace["line"]


def _copyable(fields) -> bool:
    return all(_copy_formatter(f) is not None for f in fields)
