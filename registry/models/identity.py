"""Consortium members and the people who work for them."""

from django.contrib.auth.models import AbstractUser, UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import RestrictedQuerySet
from registry.roles import InstitutionRole, StaffRole

CODE_VALIDATOR = RegexValidator(
    r"^[A-Z0-9][A-Z0-9_-]{1,31}$",
    _("Use 2-32 upper-case letters, digits, '-' or '_', starting with a letter or digit."),
)


class Institution(models.Model):
    """A member of the consortium. Several institutions may share a role."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=InstitutionRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return f"{self.code} ({self.get_role_display()})"

    @property
    def public_id(self) -> str:
        return self.code


class UserManager(DjangoUserManager.from_queryset(RestrictedQuerySet)):
    """Django's user manager with `.restrict()`; named so migrations can import it."""


class User(AbstractUser):
    """A person (or an API client account) who belongs to one institution.

    Superusers that run the platform itself may have no institution; everyone else must.
    """

    institution = models.ForeignKey(
        Institution,
        verbose_name=_("institution"),
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    staff_role = models.CharField(
        _("staff role"), max_length=16, choices=StaffRole.choices, default=StaffRole.VIEWER
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def institution_role(self) -> str | None:
        return self.institution.role if self.institution_id else None
