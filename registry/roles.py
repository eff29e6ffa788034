"""The consortium's role vocabularies, apart from the models so access.py can use them freely."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class InstitutionRole(models.TextChoices):
    OPERATOR = "operator", _("Charge-point operator")
    METROLOGY = "metrology", _("Metrology institute")
    GRID = "grid", _("Power-supply company")
    REGULATOR = "regulator", _("Regulator")


class StaffRole(models.TextChoices):
    MANAGER = "manager", _("Manager")  # administers the institution's registry entries
    ENGINEER = "engineer", _("Engineer")  # O&M technician or calibration staff in the field
    VIEWER = "viewer", _("Viewer")  # read-only
