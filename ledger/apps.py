from django.apps import AppConfig


class LedgerConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ledger"

    def ready(self):
        from ledger import builtin_contracts, tasks  # noqa: F401  (registers contracts and Celery signals)
