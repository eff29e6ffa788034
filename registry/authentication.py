"""API tokens in the Authorization header: `Token <key>` or `Bearer <key>`.

Failed token attempts are counted per client address (core.client_ip) in the cache: after
settings.TOKEN_FAILURE_LIMIT of them within TOKEN_FAILURE_WINDOW_S, every token request from that
address is answered 429 with Retry-After until the window has passed, a valid token included (else a
guesser would still learn which key works)."""

from __future__ import annotations

from datetime import timedelta

import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from core.client_ip import client_ip
from registry import security_log
from registry.models import ApiToken, SecurityEventKind
from registry.services.accounts import hash_token_key

KEYWORDS = ("token", "bearer")
# Writing last_used_at on every request would turn reads into writes; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def _failure_key(request) -> str:
    return f"token-failures:{client_ip(request)}"


def _throttled(request) -> None:
    """Raise Throttled (429, Retry-After) while the address has failed too often."""
    found = cache.get(_failure_key(request))
    if found and found[0] >= settings.TOKEN_FAILURE_LIMIT:
        raise exceptions.Throttled(wait=max(1, int(found[1] - time.time())),
                                   detail=str(_("Too many failed token attempts from this address.")))


def _failed(request) -> None:
    key = _failure_key(request)
    now = time.time()
    count, until = cache.get(key) or (0, now + settings.TOKEN_FAILURE_WINDOW_S)
    count += 1
    cache.set(key, (count, until), timeout=max(1, int(until - now)))
    if count == settings.TOKEN_FAILURE_LIMIT:
        security_log.record(SecurityEventKind.TOKEN_THROTTLED, request=request,
                            detail=f"{count} failed token attempts within {settings.TOKEN_FAILURE_WINDOW_S} s")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower().decode(errors="replace") not in KEYWORDS:
            return None
        _throttled(request)
        if len(parts) != 2:
            _failed(request)
            raise exceptions.AuthenticationFailed(_("Invalid token header: give one key after the keyword."))
        try:
            key = parts[1].decode()
        except UnicodeError:
            _failed(request)
            raise exceptions.AuthenticationFailed(_("Invalid token header.")) from None
        token = (
            ApiToken.objects.select_related("user", "user__institution", "institution")
            .filter(key_sha256=hash_token_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            _failed(request)
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        # Makes unauthenticated API requests 401 (with a challenge) rather than 403.
        return 'Token realm="api"'
