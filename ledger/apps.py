from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class LedgerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ledger"

    def ready(self):
        import os

        from ledger import builtin_contracts, tasks  # noqa: F401  (registers contracts and Celery signals)
        from ledger.state import lookups  # noqa: F401  (registers __any_of)
        from ledger.state.backend import sqlite_problem

        # Refuse to start rather than apply blocks differently from the other nodes.
        if any(db["ENGINE"] == "django.db.backends.sqlite3" for db in settings.DATABASES.values()):
            import sqlite3

            if problem := sqlite_problem(sqlite3.sqlite_version_info):
                raise ImproperlyConfigured(problem)

        if os.environ.get("PILECHAIN_COUNT_VERIFICATIONS") == "1":
            from ledger import instrumentation

            instrumentation.install()
