"""What the in-process benchmarks share: a scratch PostgreSQL database (recreated on every run, so
its name must start with "bench") and this process made an institution node (tests.utils.ledger)."""

from __future__ import annotations

import os
import sys


def bench_database_name(*, required: bool) -> str | None:
    """The database of DATABASE_URL, refused unless its name starts with 'bench' (it is dropped)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url and not required:
        return None
    name = url.rsplit("/", 1)[-1]
    if not url.startswith("postgres") or not name.startswith("bench"):
        sys.exit("set DATABASE_URL to a PostgreSQL database whose name starts with 'bench' (it is recreated)")
    return name


def recreate_database(name: str) -> None:
    import psycopg2

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    conn = psycopg2.connect(base)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def become_operator_node(*, migrate: bool = True) -> None:
    """Set Django up as OP-A's node of the tests' consortium, holding every member's key (as the
    tests do); with `migrate`, the database migrated and the consortium announced."""
    import tempfile
    from pathlib import Path

    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)
    from ledger.runtime import node
    from tests.conftest import INSTITUTIONS
    from tests.utils.ledger import configure_node

    configure_node(settings=settings, monkeypatch=ProcessEnv(), directory=Path(tempfile.mkdtemp()),
                   members=INSTITUTIONS, me="OP-A")
    if migrate:
        node.announce_consortium()


class ProcessEnv:
    """Stands in for pytest's monkeypatch where configure_node sets environment variables."""

    def setenv(self, key, value):
        os.environ[key] = value
