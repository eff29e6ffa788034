"""The page a locked-out login gets (django-axes calls `locked_out`; settings.AXES_LOCKOUT_CALLABLE):
429 with Retry-After, saying for how long and what to do. The lockout itself is on the security log
(registry.security_log, from axes' signal)."""

from __future__ import annotations

import math

from django.conf import settings
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    cooloff = settings.AXES_COOLOFF_TIME
    seconds = int(cooloff.total_seconds())
    response = render(request, "registration/locked_out.html", {"cooloff_minutes": math.ceil(seconds / 60)},
                      status=429)
    response["Retry-After"] = str(seconds)
    return response
