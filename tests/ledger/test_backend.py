"""A node checks at start that its database engine has what the ledger's bulk paths need."""

import subprocess
import sys

from ledger.state.backend import sqlite_problem
from tests.processes import ROOT, node_env


def test_a_node_refuses_to_start_on_an_sqlite_without_what_the_ledger_needs(tmp_path):
    assert sqlite_problem((3, 40, 1)) is None
    assert sqlite_problem((3, 34, 1)) == "SQLite 3.34.1 lacks RETURNING: a node needs SQLite 3.35.0 or newer (or PostgreSQL)"
    assert "UPDATE ... FROM" in sqlite_problem((3, 31, 0)) and "variables" in sqlite_problem((3, 31, 0))
    # A real process whose sqlite3 module reports an old library: Django's set-up refuses.
    code = ("import sqlite3; sqlite3.sqlite_version_info = (3, 34, 0); import django; django.setup()")
    env = node_env(DATABASE_URL=None, REDIS_URL=None, PILECHAIN_VAR_DIR=str(tmp_path),
                   PILECHAIN_EMBEDDED_REDIS_AUTOSTART="0", DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SQLite 3.34.0 lacks RETURNING" in result.stderr
