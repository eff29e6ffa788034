from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registry"
    verbose_name = _("Registry")

    def ready(self):
        from ledger import signers
        from ledger.signals import consortium_loaded
        from registry import contracts  # noqa: F401  (registers the registry's contracts)
        from registry.selectors import device_public_keys, device_revoked_keys

        signers.register_device_resolver(device_public_keys, revoked=device_revoked_keys)
        consortium_loaded.connect(_sync_institutions, dispatch_uid="registry.institutions_sync")


def _sync_institutions(sender, definition, **kwargs):
    from registry.services.institutions import institutions_sync

    institutions_sync(definition=definition)
