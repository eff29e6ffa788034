"""The second factor (TOTP, django-otp) of the people who can change the most: institution managers
and platform administrators (docs/security.md, "Second factor").

- Who may enrol: managers and platform admins (`may_enrol`). They add an authenticator app on
  /accounts/two-factor/: the page shows a fresh secret as a QR code, and the device counts once a code
  from it is entered (`confirm`). Removing it takes a current code too.
- Logging in: a person with a confirmed device enters its code with the password (`LoginForm`); a
  wrong or missing code fails the login (django-otp slows repeated failures down).
- Mandatory: with PILECHAIN_REQUIRE_2FA=1 (settings.REQUIRE_SECOND_FACTOR), a manager or admin whose
  session is not verified by a second factor reaches no page but the enrolment page and logging out
  (`RequireSecondFactor`), and gets 403 from the API by session. API tokens are not affected: they
  are service accounts of their institution, revoked on their own.
"""

from __future__ import annotations

import django_otp
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from registry import security_log
from registry.access import is_manager, is_platform_admin
from registry.models import SecurityEventKind as Kind

ENROL_PATH = "/accounts/two-factor/"
OPEN_PATHS = (ENROL_PATH, "/accounts/logout/", "/accounts/login/", "/admin/login/", "/static/", "/i18n/", "/jsi18n/", "/healthz")


def may_enrol(user) -> bool:
    """Managers, platform admins, and anyone else with admin access (staff, superusers)."""
    return is_manager(user) or is_platform_admin(user) or bool(
        user is not None and user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def must_verify(user) -> bool:
    """Whether this node requires the user's session to be verified by a second factor."""
    return bool(getattr(settings, "REQUIRE_SECOND_FACTOR", False)) and may_enrol(user)


def session_verified(user, session) -> bool:
    """Whether the session was verified by one of the user's confirmed devices (for websockets, which
    django-otp's middleware does not see)."""
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(device_id) if device_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


PENDING_SESSION_KEY = "pilechain_totp_pending"


def pending_device(user, session) -> TOTPDevice:
    """The device this session is enrolling (not confirmed yet): a fresh secret for each session, so
    that nobody who saw the page in another session knows the secret confirmed later."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=session.get(PENDING_SESSION_KEY)).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
        session[PENDING_SESSION_KEY] = device.pk
    return device


def confirm(request, device: TOTPDevice, token: str) -> bool:
    """Confirm the pending device with a code from it; the session counts as verified then."""
    if not device.verify_token((token or "").strip()):
        security_log.record(Kind.SECOND_FACTOR_FAILED, request=request, user=device.user, detail="adding")
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    request.session.pop(PENDING_SESSION_KEY, None)
    django_otp.login(request, device)
    security_log.record(Kind.SECOND_FACTOR_ADDED, request=request, user=device.user)
    return True


def remove(request, user, token: str) -> bool:
    """Remove the user's device when a current code from it is given."""
    device = confirmed_device(user)
    if device is None or not device.verify_token((token or "").strip()):
        security_log.record(Kind.SECOND_FACTOR_FAILED, request=request, user=user, detail="removing")
        return False
    TOTPDevice.objects.filter(user=user).delete()
    security_log.record(Kind.SECOND_FACTOR_REMOVED, request=request, user=user)
    return True


class LoginForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """The password, and the code of the user's authenticator app if the user has one."""

    otp_token = forms.CharField(
        label=_("Code from your authenticator app"), required=False, max_length=12,
        help_text=_("Only if you have added one (managers and platform administrators can)."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_error_messages = dict(OTPAuthenticationFormMixin.otp_error_messages,
                              token_required=_("Enter the code from your authenticator app."),
                              invalid_token=_("That code is not right (or has expired). Try the current one."))

    def _update_form(self, user):
        """django-otp would show the password again with the form; the one device needs no choice."""

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        device = confirmed_device(user) if user is not None else None
        if device is not None:
            self.cleaned_data["otp_device"] = device.persistent_id  # the user's one app
            self.clean_otp(user)
        return cleaned


class RequireSecondFactor:
    """Middleware (after django-otp's): a manager or admin whose session is not verified reaches
    only the enrolment page while the node requires the second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and must_verify(user) and not user.is_verified()
                and not request.path.startswith(OPEN_PATHS)):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"status": 403, "code": "second_factor_required", "detail": str(_(
                    "This node requires a second factor: add one at /accounts/two-factor/ and log in with it.")),
                    "fields": {}}}, status=403)
            return redirect(ENROL_PATH)
        return self.get_response(request)
