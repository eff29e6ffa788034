from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subsidy"
    verbose_name = _("Subsidies")

    def ready(self):
        from subsidy import contracts  # noqa: F401  # lazy-import: AppConfig.ready registers the ledger contracts
