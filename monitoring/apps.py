from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self):
        from monitoring import contracts  # noqa: F401  # lazy-import: registers the contracts once the models are loaded
