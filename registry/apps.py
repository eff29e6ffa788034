from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registry"
    verbose_name = _("Registry")

    def ready(self):
        from ledger import signers  # lazy-import: AppConfig.ready, the apps are loaded only now
        from ledger.signals import consortium_loaded  # lazy-import: AppConfig.ready, the apps are loaded only now
        from registry import contracts  # noqa: F401  # lazy-import: AppConfig.ready registers the registry's contracts
        from registry.selectors import device_public_keys, device_revoked_keys  # lazy-import: AppConfig.ready
        from registry.services.institutions import institutions_on_consortium_loaded  # lazy-import: AppConfig.ready
        from registry import security_log  # lazy-import: AppConfig.ready
        from registry.sockets import connect_signals  # lazy-import: AppConfig.ready

        signers.register_device_resolver(device_public_keys, revoked=device_revoked_keys)
        consortium_loaded.connect(institutions_on_consortium_loaded, dispatch_uid="registry.institutions_sync")
        connect_signals()
        security_log.connect_signals()
