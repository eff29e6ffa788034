"""Pages of the calibration app: pile lists, the record form, records, certificates, the public proof."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from calibration import certificates, drafts, selectors, services
from calibration.contracts.records import FILE
from calibration.contracts.filing import FilingError
from calibration.forms import DraftForm
from calibration.models import RecordDraft, VerificationRecord
from ledger.models import Submission
from ledger.selectors import tx_receipt
from registry import pile_states
from registry.access import member_institution

@login_required
def pile_list(request):
    q = request.GET
    rows = selectors.pile_rows(request.user, state=q.get("state", ""), operator=q.get("operator", "").strip(),
                               area=q.get("area", "").strip(), date_from=parse_date(q.get("from", "") or ""),
                               date_to=parse_date(q.get("to", "") or ""))
    states = pile_states.states(user=request.user, piles=[pile for pile, _, _ in rows])
    rows = [(pile, compliance, state, states.get(pile.pk)) for pile, compliance, state in rows]
    return render(request, "calibration/pile_list.html", {
        "rows": rows, "states": selectors.STATES, "filters": q, "may_file": services.may_file(request.user),
        "requests": selectors.requests_for(request.user)[:50],
    })


@login_required
def record_detail(request, uid):
    record = selectors.record_get(request.user, uid)
    if record is None:
        raise Http404
    return render(request, "calibration/record_detail.html", {
        "record": record, "corrections": record.corrections.order_by("height"),
        "receipt": tx_receipt(record.tx_id), "may_file": services.may_file(request.user),
    })


@login_required
def certificate(request, uid):
    record = selectors.record_get(request.user, uid)
    if record is None:
        raise Http404
    proof_url = request.build_absolute_uri(reverse("calibration:proof", args=[record.uid]))
    return render(request, "calibration/certificate.html", {
        "record": record, "proof_url": proof_url, "qr_svg": certificates.qr_svg(proof_url),
        "items": certificates.item_rows(record),
    })


@login_required
def certificate_pdf(request, uid):
    record = selectors.record_get(request.user, uid)
    if record is None:
        raise Http404
    proof_url = request.build_absolute_uri(reverse("calibration:proof", args=[record.uid]))
    response = HttpResponse(certificates.pdf_bytes(record, proof_url), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{certificates.file_name(record)}"'
    return response


def proof(request, uid):
    """Public: anyone holding a certificate can check it against the ledger (the QR code leads here)."""
    record = get_object_or_404(VerificationRecord.objects.select_related("pile", "corrects"), uid=uid)
    receipt = tx_receipt(record.tx_id)
    summary = {"record": str(record.uid), "pile": record.pile.code, "conclusion": record.conclusion,
               "institution": record.institution, "measured_at": record.measured_at.isoformat(),
               "next_due_on": record.next_due_on.isoformat(), "height": record.height,
               "corrected_by": [str(c.uid) for c in record.corrections.order_by("height")],
               "transaction": receipt}
    if request.GET.get("format") == "json":
        return JsonResponse(summary)
    return render(request, "calibration/proof.html", {"record": record, "receipt": receipt, "summary": summary})


def _require_filer(request):
    if not services.may_file(request.user):
        raise PermissionDenied(_("Only the calibration staff of a metrology institute may file verification records."))


@login_required
@require_http_methods(["GET", "POST"])
def draft_new(request):
    _require_filer(request)
    # Re-use an untouched draft rather than leaving a trail of empty ones.
    draft = (RecordDraft.objects.filter(owner=request.user, submission_tx="", pile_code="", box_serial="",
                                        measurement__isnull=True, data={}).order_by("-pk").first()
             or RecordDraft.objects.create(owner=request.user))
    if request.GET.get("pile"):
        return redirect(reverse("calibration:draft", args=[draft.pk]) + "?" + urlencode({"pile": request.GET["pile"]}))
    return redirect("calibration:draft", draft.pk)


@login_required
def draft_list(request):
    _require_filer(request)
    return render(request, "calibration/draft_list.html", {
        "drafts": RecordDraft.objects.filter(owner=request.user, submission_tx="").order_by("-updated_at")[:100]})


@login_required
@require_http_methods(["GET", "POST"])
def draft_edit(request, pk: int):
    _require_filer(request)
    draft = get_object_or_404(RecordDraft, pk=pk, owner=request.user)
    if draft.submission_tx:
        return redirect("calibration:submission", draft.submission_tx)
    boxes = list(selectors.test_boxes_for(request.user))
    query = request.GET.get("q", "").strip()
    found = selectors.search_piles(request.user, query) if query else []
    if request.method == "POST":
        form = DraftForm(request.POST, request.FILES, boxes=boxes)
        result = _save_draft(request, draft, form)
        if result is not None:
            return result
    else:
        initial = dict(draft.data.get("form", {}))
        initial.setdefault("pile", request.GET.get("pile") or draft.pile_code)
        initial.setdefault("test_box", draft.box_serial or (boxes[0].serial if len(boxes) == 1 else ""))
        initial.setdefault("time_of_use", True)
        form = DraftForm(initial=initial, boxes=boxes)
    view = drafts.preview(request.user, draft)
    return render(request, "calibration/draft_form.html", {
        "draft": draft, "form": form, "preview": view, "query": query, "found": found,
        "preview_items": certificates.rows_for(view.judgement.conclusion.to_dict()["items"]) if view.judgement else [],
        "problems": list(dict.fromkeys([*draft.problems, *view.problems])),
    })


def _save_draft(request, draft: RecordDraft, form: DraftForm):
    """Keep whatever was entered; file it when asked and nothing is wrong. A response, or None to re-render."""
    draft.pile_code = request.POST.get("pile", "").strip()[:48]
    draft.box_serial = request.POST.get("test_box", "").strip()[:64]
    values = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "action")}
    draft.data = {**draft.data, "form": values}
    problems = []
    if form.is_valid():
        draft.data["kind"] = form.cleaned_data["kind"]
        draft.data["observations"] = form.observations()
        upload = form.cleaned_data.get("record_file")
        if upload:
            try:
                draft.measurement = drafts.parse_record_text(upload.read().decode("utf-8", errors="replace"))
            except FilingError as exc:
                problems.append(str(exc))
        try:
            typed = form.typed_readings()
        except Exception as exc:  # a ValidationError from the typed readings
            problems.extend(getattr(exc, "messages", [str(exc)]))
            typed = None
        draft.data["manual_record"] = drafts.manual_record(
            pile_code=draft.pile_code, box_serial=draft.box_serial, load_points=typed[0], indication=typed[1],
            billing=typed[2], clock_error_ms=typed[3]) if typed else None
    else:
        problems.append(_("Some fields need correcting; the draft is kept."))
    draft.problems = problems
    draft.save()
    if request.POST.get("action") == "file" and not problems:
        view = drafts.preview(request.user, draft)
        if view.fileable:
            try:
                submission = drafts.draft_file(request.user, draft)
            except FilingError:
                return None
            except PermissionDenied:
                raise
            return redirect("calibration:submission", submission.tx_id)
    return None


@login_required
def submission(request, tx_id: str):
    found = Submission.objects.filter(tx_id=tx_id, type=FILE).first()
    institution = member_institution(request.user)
    if found is None or not (found.submitted_by_id == request.user.pk
                             or (institution and found.body.get("signer") == f"node:{institution.code}")):
        raise Http404
    record = VerificationRecord.objects.filter(tx_id=tx_id).select_related("pile").first()
    return render(request, "calibration/submission.html", {"submission": found, "record": record})
