from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self):
        from monitoring import contracts, contracts_availability  # noqa: F401  (registers the contracts)
