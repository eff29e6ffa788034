"""Writing many rows in one statement, for contracts applied in runs (ledger.runs).

Updates: Django's bulk_update builds one CASE WHEN per column with a branch per row, which the
database evaluates row by row against every branch; a run of a thousand closed sessions would spend
its time there. A common table expression of the new values joined on the primary key costs one
pass. PostgreSQL needs the VALUES columns typed (psycopg2 sends literals), so each value is cast to
its column's type; SQLite (3.33 and later) takes them as they are.

Inserts: on PostgreSQL one multi-row INSERT ... RETURNING, with values that psycopg2 adapts natively
passed as they are instead of through every field's get_db_prep_save; elsewhere Django's bulk_create.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.db import models

BATCH = 500
_NATIVE = (int, str, bool, Decimal, dt.date, uuid.UUID)  # datetime is a date


def _preparer(field, connection):
    """How a value of `field` becomes a query parameter: as it is when the driver adapts it alike."""
    if isinstance(field, models.JSONField) or connection.vendor != "postgresql":
        return lambda value: field.get_db_prep_save(value, connection)

    def prepare(value):
        if value is None or (isinstance(value, _NATIVE) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value
        return field.get_db_prep_save(value, connection)

    if isinstance(field, models.UUIDField):
        def prepare_uuid(value):
            return value if value is None or isinstance(value, uuid.UUID) else field.get_db_prep_save(value, connection)
        return prepare_uuid
    return prepare


def bulk_update(model: type[models.Model], rows: list[models.Model], fields: list[str], *, connection) -> None:
    if not rows or not fields:
        return
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    prepare = [(f.attname, _preparer(f, connection)) for f in columns]
    prepare_pk = _preparer(pk, connection)

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
                params.append(prepare_pk(row.pk))
                params.extend(prep(getattr(row, attname)) for attname, prep in prepare)
            cursor.execute(
                f"WITH v({names}) AS (VALUES {', '.join([row_sql] * len(chunk))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(pk.column)} = v.pk_",
                params,
            )


def bulk_insert(model: type[models.Model], rows: list[models.Model], *, connection) -> None:
    """Insert new rows and set their primary keys (rows that already have one keep it)."""
    if not rows:
        return
    meta = model._meta
    stamped = any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in meta.concrete_fields)
    if connection.vendor != "postgresql" or stamped:
        model._base_manager.bulk_create(rows, batch_size=BATCH)
        return
    pk = meta.pk
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    concrete = [f for f in meta.concrete_fields if f is not pk]
    for row in rows:
        for f in concrete:
            if isinstance(f, models.ForeignKey):
                # An object assigned before it was saved: take its key now that it has one.
                related = f.get_cached_value(row, None)
                if related is not None and getattr(row, f.attname) is None:
                    setattr(row, f.attname, related.pk)
    for with_pk in (True, False):
        group = [row for row in rows if (row.pk is not None) == with_pk]
        if not group:
            continue
        fields = [pk, *concrete] if with_pk else concrete
        prepare = [(f.attname, _preparer(f, connection)) for f in fields]
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        columns = ", ".join(quote(f.column) for f in fields)
        with connection.cursor() as cursor:
            for start in range(0, len(group), BATCH):
                chunk = group[start:start + BATCH]
                params = []
                for row in chunk:
                    params.extend(prep(getattr(row, attname)) for attname, prep in prepare)
                cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(chunk))} "
                               f"RETURNING {quote(pk.column)}", params)
                for row, (key,) in zip(chunk, cursor.fetchall()):
                    row.pk = key
                    row._state.adding = False
                    row._state.db = connection.alias
