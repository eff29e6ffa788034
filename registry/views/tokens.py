"""An institution's managers issue and revoke API tokens for third parties."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from registry import access, services
from registry.forms import ApiTokenForm
from registry.models import ApiToken


def _tokens(request):
    return ApiToken.objects.restrict(request.user).select_related("institution", "created_by")


@login_required
def token_list(request):
    if not access.is_manager(request.user) and not access.is_platform_admin(request.user):
        raise PermissionDenied(_("API tokens are issued by the managers of an institution."))
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = services.api_token_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Token “%(name)s” created.") % {"name": token.name})
            form = ApiTokenForm()
    return render(request, "registry/token_list.html", {"tokens": _tokens(request), "form": form, "new_key": new_key})


@login_required
@require_POST
def token_revoke(request, prefix: str):
    token = get_object_or_404(_tokens(request), prefix=prefix)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token revoked."))
    return redirect("registry:token_list")
