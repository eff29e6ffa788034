"""The page a locked-out login gets (django-axes calls `locked_out`; settings.AXES_LOCKOUT_CALLABLE):
429 with Retry-After, saying for how long and what to do. The lockout is logged by axes."""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.shortcuts import render

from core.client_ip import client_ip

logger = logging.getLogger("pilechain.security")


def locked_out(request, original_response=None, credentials=None):
    cooloff = settings.AXES_COOLOFF_TIME
    seconds = int(cooloff.total_seconds())
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    logger.warning("login locked out", extra={"event": "login_locked_out", "username": username[:150],
                                              "client": client_ip(request)})
    response = render(request, "registration/locked_out.html", {"cooloff_minutes": math.ceil(seconds / 60)},
                      status=429)
    response["Retry-After"] = str(seconds)
    return response
