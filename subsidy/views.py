"""Pages: policies, claims (list, detail with the trail), claiming and deciding."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.forms import add_service_errors
from registry.access import is_manager, member_institution
from subsidy import selectors, services
from subsidy.forms import ClaimForm, DecisionForm, PolicyForm


def _role(user) -> str:
    institution = member_institution(user)
    return institution.role if institution and is_manager(user) else ""


def _pending(request, submission):
    messages.success(request, _("Submitted to the ledger as %(tx)s; pending until the next block.")
                     % {"tx": submission.tx_id[:16]})


@login_required
def claim_list(request):
    role = _role(request.user)
    form = ClaimForm(request.POST or None) if role == "operator" else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                _pending(request, services.claim_submit(request.user, period=form.cleaned_data["period"]))
                return redirect("subsidy:claim_list")
            except ValidationError as exc:
                add_service_errors(form, exc)
    return render(request, "subsidy/claim_list.html", {
        "claims": selectors.claims_for(request.user)[:200], "form": form,
        "policies": selectors.policies_for(request.user)[:20]})


@login_required
def claim_detail(request, uid):
    detail = selectors.claim_detail(request.user, uid, page=request.GET.get("page"),
                                    held_only=request.GET.get("held") == "1")
    if detail is None:
        raise Http404
    form = DecisionForm(request.POST or None) if _role(request.user) == "regulator" else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                _pending(request, services.claim_decide(
                    request.user, claim=str(uid), decision=data["decision"],
                    piles=[p.strip() for p in data["piles"].replace(",", " ").split() if p.strip()],
                    reason=data["reason"], payment_due_on=data["payment_due_on"]))
                return redirect("subsidy:claim_detail", uid=uid)
            except ValidationError as exc:
                add_service_errors(form, exc)
    return render(request, "subsidy/claim_detail.html", {**detail, "form": form})


@login_required
def policy_list(request):
    form = PolicyForm(request.POST or None) if _role(request.user) == "regulator" else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                _pending(request, services.policy_publish(request.user, **data))
                return redirect("subsidy:policy_list")
            except ValidationError as exc:
                add_service_errors(form, exc)
    return render(request, "subsidy/policy_list.html", {"policies": selectors.policies_for(request.user), "form": form})
