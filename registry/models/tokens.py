"""API tokens for third parties. Node-local (not on the ledger): each node issues its own."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import RestrictedQuerySet
from registry.models.identity import Institution


class ApiToken(models.Model):
    """Only the SHA-256 of the key is stored; the key itself is shown once, when created.

    Each token acts as its own service-account user of the institution, so the token sees exactly
    what that institution may see and revoking it cannot touch a person's account.
    """

    institution = models.ForeignKey(
        Institution, verbose_name=_("institution"), on_delete=models.PROTECT, related_name="api_tokens"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("service account"), on_delete=models.PROTECT,
        related_name="api_token",
    )
    name = models.CharField(_("name"), max_length=100)
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT,
        related_name="+", null=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
