"""The gateway's pages: connected piles, and one pile's credentials and remote commands."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.forms import service_error_text
from gateway import selectors, services
from gateway.forms import CommandForm, CredentialForm


@login_required
def pile_list(request):
    return render(request, "gateway/pile_list.html", {"presences": selectors.presences_for(request.user)})


@login_required
def pile_detail(request, code: str):
    context = selectors.pile_overview(request.user, code)
    context.update(credential_form=CredentialForm(), command_form=CommandForm(), new_password=None)
    return render(request, "gateway/pile_detail.html", context)


@login_required
@require_POST
def credential_set(request, code: str):
    context = selectors.pile_overview(request.user, code)
    form = CredentialForm(request.POST)
    new_password = None
    if form.is_valid():
        try:
            new_password = services.credential_set(
                actor=request.user, pile=context["pile"].code, password=form.cleaned_data["password"] or None
            )
        except PermissionDenied:
            raise
        except ValidationError as exc:
            form.add_error("password", service_error_text(exc))
        else:
            messages.success(request, _("The pile's password was set."))
            context = selectors.pile_overview(request.user, code)
    context.update(credential_form=form, command_form=CommandForm(), new_password=new_password)
    return render(request, "gateway/pile_detail.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def command_send(request, code: str):
    context = selectors.pile_overview(request.user, code)
    form = CommandForm(request.POST)
    if form.is_valid():
        try:
            command = services.command_send(
                actor=request.user, pile=context["pile"].code, action=form.cleaned_data["action"], params=form.params()
            )
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
        else:
            level = messages.success if command.status == "answered" else messages.warning
            level(request, _("%(action)s: %(status)s") % {
                "action": command.action, "status": command.get_status_display(),
            })
        return redirect("gateway:pile_detail", code=context["pile"].code)
    context.update(credential_form=CredentialForm(), command_form=form, new_password=None)
    return render(request, "gateway/pile_detail.html", context, status=400)
