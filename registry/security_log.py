"""Writing the security log (registry.models.SecurityEvent): one row per event, and the same event on
the structured log (logger `pilechain.security`, with `event`, `username`, `client`, `path`).

What is recorded, and from where:
- logins, failed logins and logouts: Django's auth signals; lockouts: django-axes' `user_locked_out`;
- second factors added, removed, or a code refused: registry.two_factor and its page;
- API tokens created and revoked: registry.services.accounts; token attempts throttled:
  registry.authentication;
- permission refusals: every 403 answer of a page or the API (`PermissionDenied403`, a middleware);
- device keys added and revoked: registry.services.keys; users deactivated: a model signal.

An event whose row cannot be written is still logged; recording never fails the request it records.
"""

from __future__ import annotations

import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import DatabaseError, transaction
from django.db.models.signals import post_save
from django_otp.forms import otp_verification_failed

from core.client_ip import client_ip
from registry.models import SecurityEvent, SecurityEventKind, User

logger = logging.getLogger("pilechain.security")
Kind = SecurityEventKind
WARNINGS = {Kind.LOGIN_FAILED, Kind.LOCKED_OUT, Kind.SECOND_FACTOR_FAILED, Kind.TOKEN_THROTTLED,
            Kind.PERMISSION_DENIED}


def record(kind: str, *, request=None, user=None, username: str = "", detail: str = "", store: bool = True) -> None:
    """The event on the structured log and (with `store`) in the security log."""
    if user is not None and getattr(user, "is_authenticated", False):
        username = username or user.get_username()
        institution = getattr(getattr(user, "institution", None), "code", "") or ""
    else:
        institution = ""
    fields = {
        "kind": kind, "username": (username or "")[:150], "institution": institution[:32],
        "client": client_ip(request)[:64] if request is not None else "",
        "method": (getattr(request, "method", "") or "")[:8], "path": (getattr(request, "path", "") or "")[:300],
        "detail": (detail or "")[:500],
    }
    logger.log(logging.WARNING if kind in WARNINGS else logging.INFO, "security event",
               extra={"event": kind, **{k: v for k, v in fields.items() if k != "kind"}})
    if not store:
        return
    try:
        with transaction.atomic():
            SecurityEvent.objects.create(**fields)
    except DatabaseError:
        logger.exception("security event not stored", extra={"event": kind})


def _logged_in(sender, request, user, **kwargs):
    record(Kind.LOGIN, request=request, user=user)


def _logged_out(sender, request, user, **kwargs):
    record(Kind.LOGOUT, request=request, user=user)


def _login_failed(sender, credentials, request=None, **kwargs):
    record(Kind.LOGIN_FAILED, request=request, username=str(credentials.get("username", "")))


def _locked_out(sender, request, username, ip_address, **kwargs):
    record(Kind.LOCKED_OUT, request=request, username=username or "", detail=f"from {ip_address}")


def _code_refused(sender, user, **kwargs):
    record(Kind.SECOND_FACTOR_FAILED, user=user, detail="logging in")


def _user_saved(sender, instance, created, update_fields=None, **kwargs):
    if not created and not instance.is_active and (update_fields is None or "is_active" in update_fields):
        record(Kind.USER_DEACTIVATED, username=instance.get_username())


def connect_signals() -> None:
    """Called by RegistryConfig.ready."""
    user_logged_in.connect(_logged_in, dispatch_uid="registry.security_log.login")
    user_logged_out.connect(_logged_out, dispatch_uid="registry.security_log.logout")
    user_login_failed.connect(_login_failed, dispatch_uid="registry.security_log.login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="registry.security_log.locked_out")
    otp_verification_failed.connect(_code_refused, dispatch_uid="registry.security_log.code_refused")
    post_save.connect(_user_saved, sender=User, dispatch_uid="registry.security_log.user_saved")


class PermissionDenied403:
    """Middleware: every 403 answer is a permission refusal on the security log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            user = getattr(request, "user", None)
            # Anonymous refusals (a failed CSRF check, say) cost anyone nothing to cause: the structured log
            # carries them, the table only what an authenticated principal was refused.
            record(Kind.PERMISSION_DENIED, request=request, user=user,
                   store=bool(user is not None and user.is_authenticated))
        return response
