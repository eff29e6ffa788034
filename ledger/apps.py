import os
import sqlite3
from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ledger import instrumentation
from ledger.state import lookups  # noqa: F401  (registers __any_of)
from ledger.state.backend import sqlite_problem


class LedgerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ledger"

    def ready(self):
        # Registers the built-in contracts and the Celery signals; both modules import models.
        from ledger import builtin_contracts, tasks  # noqa: F401  # lazy-import: models load only once apps are ready

        # Refuse to start rather than apply blocks differently from the other nodes.
        if any(db["ENGINE"] == "django.db.backends.sqlite3" for db in settings.DATABASES.values()):
            if problem := sqlite_problem(sqlite3.sqlite_version_info):
                raise ImproperlyConfigured(problem)

        if os.environ.get("PILECHAIN_COUNT_VERIFICATIONS") == "1":
            instrumentation.install()
        load_test_hooks(os.environ.get("PILECHAIN_TEST_HOOKS", ""))


def load_test_hooks(names: str) -> None:
    """Modules of the test suite that a test starting real node processes has them load (contracts
    that fail on purpose: tests/consortium/faults.py). Set only by tests; nothing else is importable."""
    for name in filter(None, (n.strip() for n in names.split(","))):
        if not name.startswith("tests."):
            raise ImproperlyConfigured(f"PILECHAIN_TEST_HOOKS names test modules only, not {name}")
        import_module(name)
