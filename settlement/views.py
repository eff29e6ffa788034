"""Pages: statements (list, close, detail with money, confirm, dispute, correct, exports) and job progress."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from core.forms import service_error_text
from registry.access import is_manager, member_institution
from settlement import exports, tasks
from settlement.forms import AreaMeterForm, CloseForm, CorrectForm, DisputeForm, TariffForm, TermsForm
from settlement.models import JobProgress
from settlement.selectors.billing import (ITEMS_PER_PAGE, closable_areas, jobs_for, statement_view, statements_for,
                                         tariffs_for)
from settlement.services import billing
from settlement.statements import Terms


@login_required
def statement_list(request):
    areas = closable_areas(request.user)
    form = CloseForm(request.POST or None) if areas else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            job = tasks.close_areas_start(user=request.user, period=form.cleaned_data["period"], areas=areas)
            return redirect("settlement:job", uid=job.uid)
    qs = statements_for(request.user)
    if request.GET.get("period"):
        qs = qs.filter(period=request.GET["period"])
    return render(request, "settlement/statement_list.html", {
        "statements": qs[:200], "form": form, "areas": areas, "tariffs": tariffs_for(request.user)[:20]})


@login_required
def statement_detail(request, uid):
    statement = statements_for(request.user).filter(uid=uid).first()
    if statement is None:
        raise Http404
    view = statement_view(request.user, statement)
    may_act = view["party"] and is_manager(request.user)
    # A statement has an item per pile and band, thousands for a large operator: a page at a time,
    # and the items of the page are the ones a dispute from it may name.
    page_obj = Paginator(view["items"], ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    choices = [(f"{i.pile.code}|{i.band}", f"{i.pile.code} {i.band}") for i in page_obj.object_list]
    dispute = DisputeForm(request.POST if request.POST.get("action") == "dispute" else None)
    dispute.fields["item"].choices = choices
    correct = CorrectForm(request.POST if request.POST.get("action") == "correct" else None)
    if request.method == "POST":
        if not may_act:
            raise PermissionDenied
        action = request.POST.get("action")
        try:
            if action == "confirm":
                submission = billing.statement_confirm(request.user, statement=statement)
            elif action == "dispute" and dispute.is_valid():
                pile, band = dispute.cleaned_data["item"].split("|", 1)
                submission = billing.statement_dispute(request.user, statement=statement, items=[
                    {"pile": pile, "band": band, "reason": dispute.cleaned_data["reason"]}])
            elif action == "correct" and correct.is_valid():
                submission = billing.statement_correct(request.user, statement=statement,
                                                       reason=correct.cleaned_data["reason"])
            elif action in ("csv", "pdf"):
                job = tasks.export_start(user=request.user, statement_uid=str(statement.uid), fmt=action)
                return redirect("settlement:job", uid=job.uid)
            else:
                submission = None
            if submission is not None:
                messages.success(request, _("Submitted to the ledger as %(tx)s; pending until the next block.")
                                 % {"tx": submission.tx_id[:16]})
                return redirect("settlement:statement_detail", uid=uid)
        except ValidationError as exc:
            messages.error(request, service_error_text(exc))
    return render(request, "settlement/statement_detail.html", {
        **view, "items": page_obj.object_list, "page_obj": page_obj, "may_act": may_act, "dispute_form": dispute,
        "correct_form": correct})


@login_required
def statement_export_now(request, uid, fmt):
    """A small statement exported at once (the job page is for long ones); same content."""
    statement = statements_for(request.user).filter(uid=uid).first()
    if statement is None or fmt not in ("csv", "pdf"):
        raise Http404
    view = statement_view(request.user, statement)
    money = view["money"] if view["complete"] else None
    if fmt == "csv":
        data, kind = exports.statement_csv(statement, view["items"], money), "text/csv"
    else:
        data, kind = exports.statement_pdf(statement, view["items"], money), "application/pdf"
    response = HttpResponse(data, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.period}-{statement.area.code}.{fmt}"'
    return response


@login_required
def publish(request):
    """Grid companies publish tariffs and area meter readings; either party seals terms for an area."""
    institution = member_institution(request.user)
    if institution is None or not is_manager(request.user) or institution.role not in ("grid", "operator"):
        raise PermissionDenied
    own = [(a, a) for a in closable_areas(request.user)]
    kind = request.POST.get("form") if request.method == "POST" else None
    grid = institution.role == "grid"
    tariff = TariffForm(request.POST if kind == "tariff" else None, prefix="tariff") if grid else None
    meter = AreaMeterForm(request.POST if kind == "meter" else None, prefix="meter") if grid else None
    terms = TermsForm(request.POST if kind == "terms" else None, prefix="terms",
                      initial={} if grid else {"operator": institution.code})
    for form in (tariff, meter, terms):
        if form is not None:
            form.fields["area"].choices = own
    submission = None
    try:
        if kind == "tariff" and tariff is not None and tariff.is_valid():
            d = tariff.cleaned_data
            submission = billing.tariff_publish(request.user, area=d["area"], valid_from=d["valid_from"],
                                                windows=d["windows_list"], prices=d["prices"])
        elif kind == "meter" and meter is not None and meter.is_valid():
            d = meter.cleaned_data
            submission = billing.area_meter_report(request.user, area=d["area"], period=d["period"],
                                                   energy_wh=d["energy_wh"])
        elif kind == "terms" and terms.is_valid():
            d = terms.cleaned_data
            plain = Terms.from_plain({
                "prices": {b: format(d[b], "f") for b in ("peak", "flat", "valley") if d.get(b) is not None},
                "discount_percent": format(d.get("discount_percent") or 0, "f"),
                "bank": {"details": d.get("bank") or ""}})
            submission = billing.terms_publish(request.user, area=d["area"], operator=d["operator"].strip().upper(),
                                               valid_from=d["valid_from"], terms=plain)
    except ValidationError as exc:
        messages.error(request, service_error_text(exc))
    if submission is not None:
        messages.success(request, _("Submitted to the ledger as %(tx)s; pending until the next block.")
                         % {"tx": submission.tx_id[:16]})
        return redirect("settlement:publish")
    return render(request, "settlement/publish.html", {"tariff": tariff, "meter": meter, "terms": terms})


def _job(request, uid) -> JobProgress:
    return get_object_or_404(jobs_for(request.user), uid=uid)


@login_required
def job_page(request, uid):
    return render(request, "settlement/job.html", {"job": _job(request, uid)})


@login_required
def job_status(request, uid):
    job = _job(request, uid)
    return JsonResponse({"state": job.state, "done": job.done, "total": job.total, "percent": job.percent,
                         "detail": job.detail, "download": bool(job.result_name)})


@login_required
def job_download(request, uid):
    job = _job(request, uid)
    if job.state != "done" or not job.result_name:
        raise Http404
    kind = "application/pdf" if job.result_name.endswith(".pdf") else "text/csv"
    response = HttpResponse(bytes(job.result), content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
    return response
