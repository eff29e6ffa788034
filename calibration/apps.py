from django.apps import AppConfig


class CalibrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calibration"

    def ready(self):
        from calibration import contracts  # noqa: F401  # lazy-import: AppConfig.ready registers the calibration.* contracts
