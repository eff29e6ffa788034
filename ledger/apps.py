from django.apps import AppConfig


class LedgerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ledger"

    def ready(self):
        import os

        from ledger import builtin_contracts, tasks  # noqa: F401  (registers contracts and Celery signals)
        from ledger.state import lookups  # noqa: F401  (registers __any_of)

        if os.environ.get("PILECHAIN_COUNT_VERIFICATIONS") == "1":
            from ledger import instrumentation

            instrumentation.install()
