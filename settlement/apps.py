from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "settlement"
    verbose_name = _("Settlement")

    def ready(self):
        from settlement import contracts  # noqa: F401  # lazy-import: AppConfig.ready registers the ledger contracts
