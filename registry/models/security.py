"""The node's security log: who logged in or failed to, lockouts, second factors, API tokens,
permission refusals and key changes (registry.security_log writes it; node-local, never on the
ledger). Platform administrators read, filter and export it in Django admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SecurityEventKind(models.TextChoices):
    LOGIN = "login", _("logged in")
    LOGIN_FAILED = "login_failed", _("login failed")
    LOCKED_OUT = "locked_out", _("locked out")
    LOGOUT = "logout", _("logged out")
    SECOND_FACTOR_ADDED = "second_factor_added", _("second factor added")
    SECOND_FACTOR_REMOVED = "second_factor_removed", _("second factor removed")
    SECOND_FACTOR_FAILED = "second_factor_failed", _("second factor code refused")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    TOKEN_THROTTLED = "token_throttled", _("API token attempts throttled")
    PERMISSION_DENIED = "permission_denied", _("permission refused")
    KEY_ADDED = "key_added", _("device key added")
    KEY_REVOKED = "key_revoked", _("device key revoked")
    USER_DEACTIVATED = "user_deactivated", _("user deactivated")


class SecurityEvent(models.Model):
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=32, choices=SecurityEventKind.choices, db_index=True)
    username = models.CharField(_("account"), max_length=150, blank=True, db_index=True)
    institution = models.CharField(_("institution"), max_length=32, blank=True)
    client = models.CharField(_("client address"), max_length=64, blank=True)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(_("path"), max_length=300, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("security event")
        verbose_name_plural = _("security log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"
