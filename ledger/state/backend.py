"""What the ledger's writes need from the database engine, checked when a node starts.

A node whose engine lacks a feature the contracts' bulk paths use would fall back, or fail, where the
others do not. On SQLite the code needs (by the version that brought each):
- 3.32: 32,766 variables per statement (the bulk reads and writes chunk to it);
- 3.33: UPDATE ... FROM (bulk updates of a run);
- 3.35: RETURNING (primary keys set by bulk inserts).
PostgreSQL has had all of these since long before the versions Django 5.2 supports.
"""

from __future__ import annotations

SQLITE_NEEDS = (
    ((3, 32, 0), "32,766 variables per statement"),
    ((3, 33, 0), "UPDATE ... FROM"),
    ((3, 35, 0), "RETURNING"),
)
SQLITE_MINIMUM = max(version for version, _ in SQLITE_NEEDS)


def sqlite_problem(version: tuple[int, int, int]) -> str | None:
    """Why this SQLite cannot run a node, or None."""
    missing = [what for needed, what in SQLITE_NEEDS if tuple(version) < needed]
    if not missing:
        return None
    have = ".".join(map(str, version))
    need = ".".join(map(str, SQLITE_MINIMUM))
    return f"SQLite {have} lacks {', '.join(missing)}: a node needs SQLite {need} or newer (or PostgreSQL)"
