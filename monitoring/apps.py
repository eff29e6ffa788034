from django.apps import AppConfig

from registry import pile_states


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "monitoring"

    def ready(self):
        from monitoring import contracts  # noqa: F401  # lazy-import: registers the contracts once the models are loaded
        from monitoring.selectors.operational import RegistryProvider  # lazy-import: it reads models, loaded only now

        # The registry's pages and API show a pile's operational state through this provider.
        pile_states.install(RegistryProvider())
