"""The login with its optional second factor, and the page where managers and platform admins add,
use and remove their authenticator app (registry.two_factor)."""

from __future__ import annotations

import base64

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from registry import security_log, two_factor
from registry.models import SecurityEventKind as Kind


WRONG_CODE = gettext_noop("That code is not right (or has expired). Try the current one.")


class Login(LoginView):
    form_class = two_factor.LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        device = getattr(form.get_user(), "otp_device", None)
        if device is not None:
            django_otp.login(self.request, device)  # this session is verified by the second factor
        return response


@login_required
def manage(request):
    user = request.user
    if not two_factor.may_enrol(user):
        raise PermissionDenied(_("Managers and platform administrators add a second factor."))
    device = two_factor.confirmed_device(user)
    if request.method == "POST":
        action, token = request.POST.get("action"), request.POST.get("token", "")
        if action == "confirm" and device is None:
            if two_factor.confirm(request, two_factor.pending_device(user, request.session), token):
                messages.success(request, _("Your authenticator app is added: log in with its code from now on."))
                return redirect(two_factor.ENROL_PATH)
            messages.error(request, _(WRONG_CODE))
        elif action == "verify" and device is not None:
            if device.verify_token(token.strip()):
                django_otp.login(request, device)
                messages.success(request, _("This session is verified."))
                return redirect("home")
            security_log.record(Kind.SECOND_FACTOR_FAILED, request=request, user=user, detail="verifying a session")
            messages.error(request, _(WRONG_CODE))
        elif action == "remove" and device is not None:
            if two_factor.remove(request, user, token):
                messages.success(request, _("Your authenticator app is removed."))
                return redirect(two_factor.ENROL_PATH)
            messages.error(request, _(WRONG_CODE))
    context = {"device": device, "verified": user.is_verified(), "required": two_factor.must_verify(user)}
    if device is None:
        pending = two_factor.pending_device(user, request.session)
        context.update(secret=_base32(pending.bin_key),
                       qr=mark_safe(segno.make(pending.config_url, error="m").svg_inline(scale=4)))  # noqa: S308 - segno's own SVG
    return render(request, "registry/two_factor.html", context)


def _base32(key: bytes) -> str:
    """The secret as authenticator apps take it typed in."""
    return base64.b32encode(key).decode().rstrip("=")
