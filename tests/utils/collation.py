"""A node whose database sorts text by a language's rules instead of by code point.

Nodes may run PostgreSQL under any locale, and an ORDER BY on text follows the column's collation:
under ICU's en-US "OP_B" sorts before "OPA" and "PILE_A2" before "PILE-A1", under C the other way
round. On PostgreSQL this gives a column that collation for the rest of the test (the test's
transaction undoes it); SQLite compares text by code point, as contracts must.
"""

from __future__ import annotations

from django.db import connection


def collate_like_en_us(model, field: str) -> bool:
    """True when the column now sorts by en-US rules (PostgreSQL with ICU); False on SQLite."""
    if connection.vendor != "postgresql":
        return False
    column = model._meta.get_field(field)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # The deferred foreign-key checks of rows written earlier in the test must run first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'ALTER TABLE {quote(model._meta.db_table)} ALTER COLUMN {quote(column.column)} '
                       f'TYPE {column.db_type(connection)} COLLATE "en-US-x-icu"')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return True
