"""Monitoring pages: work orders (list, detail with trail and step form), live alerts, availability,
load per grid area."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import service_error_text
from ledger.web import pending_redirect
from monitoring import forms
from monitoring.selectors import availability as availability_selectors
from monitoring.selectors import intervals as interval_selectors
from monitoring.selectors import operational as operational_selectors
from monitoring.selectors import workorders as selectors
from monitoring.services import grid as grid_services
from monitoring.services import load as load_services
from monitoring.services import workorders as services
from registry.access import is_manager, member_institution
from registry.models import GridArea, Pile


@login_required
def workorder_list(request):
    form = forms.WorkOrderFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    orders = selectors.workorder_list(
        user=request.user, state=filters.get("state", ""), severity=filters.get("severity", ""),
        pile=filters.get("pile", ""), overdue=filters.get("overdue", False), open_only=filters.get("open", False),
        assignee=request.user.username if filters.get("mine") else "",
    )
    page = Paginator(orders, 50).get_page(request.GET.get("page"))
    now = timezone.now()
    for order in page:
        order.overdue_now = order.is_overdue(now)
    return render(request, "monitoring/workorder_list.html", {"form": form, "page_obj": page})


@login_required
def workorder_detail(request, uid):
    order = selectors.workorder_detail(user=request.user, uid=uid)
    if order is None:
        raise Http404
    steps = services.allowed_steps(actor=request.user, work_order=order)
    form = forms.StepForm(request.POST or None, steps=steps)
    if request.method == "POST":
        if not steps:
            raise PermissionDenied
        if form.is_valid():
            try:
                submission = services.workorder_step(actor=request.user, work_order=order, **form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, service_error_text(exc))
            else:
                return pending_redirect(request, submission, next_url=order.get_absolute_url())
    return render(request, "monitoring/workorder_detail.html", {
        "order": order, "trail": selectors.workorder_trail(order), "form": form, "steps": steps, "overdue": order.is_overdue(timezone.now()),
    })


@login_required
def alerts_live(request):
    return render(request, "monitoring/alerts_live.html", {})


def _period(request):
    form = forms.PeriodForm(request.GET or None)
    now = timezone.now().replace(second=0, microsecond=0)
    start = end = None
    if form.is_valid():
        start, end = form.cleaned_data.get("start"), form.cleaned_data.get("end")
    end = end or now
    start = start or end - dt.timedelta(days=30)
    return form, start, end


HOUR = Decimal(3600)


def _for_page(row: dict) -> dict:
    """Connector-seconds as hours with one decimal, the ratio as a percentage with two."""
    hours = {name: (Decimal(row[name]) / HOUR).quantize(Decimal("0.1"))
             for name in ("up_seconds", "down_seconds", "excused_seconds", "unknown_seconds")}
    percent = None if row["ratio"] is None else (row["ratio"] * 100).quantize(Decimal("0.01"))
    return {**row, "hours": hours, "percent": percent}


def _agreed_for_page(row: dict) -> dict:
    """An agreed uptime row (monitoring.selectors.intervals.uptime) as the page shows it: hours with
    one decimal, percentages with two."""
    figures = row["uptime"]
    hours = {name: (Decimal(value) / HOUR).quantize(Decimal("0.1")) for name, value in (
        ("up", figures.up), ("outage", figures.counted_outage), ("excluded", figures.excluded),
        ("unreported", figures.unreported))}
    percent = None if figures.ratio is None else (figures.ratio * 100).quantize(Decimal("0.01"))
    signed = (Decimal(row["signed_energy_wh"] * 100) / row["energy_wh"]).quantize(Decimal("0.1")) \
        if row["energy_wh"] else None
    return {**row, "hours": hours, "percent": percent, "kwh": (Decimal(row["energy_wh"]) / 1000).quantize(Decimal("0.1")),
            "signed_percent": signed}


AGREED_GROUPS = {"connector": gettext_lazy("connector"), "pile": gettext_lazy("pile"), "station": gettext_lazy("station"),
                 "area": gettext_lazy("grid area"), "operator": gettext_lazy("operator")}


@login_required
def availability(request):
    form, start, end = _period(request)
    pile = form.cleaned_data.get("pile", "") if form.is_bound and form.is_valid() else ""
    by = request.GET.get("by") if request.GET.get("by") in AGREED_GROUPS else "pile"
    rows, reported, agreed, error = [], [], [], ""
    first_day, last_day = availability_selectors.period_days(start, end) if end > start else (None, None)
    try:
        rows = availability_selectors.availability(user=request.user, start=start, end=end, pile=pile)
        reported = availability_selectors.reported(user=request.user, start_day=first_day, end_day=last_day, pile=pile,
                                                   with_days=bool(pile))
        agreed = [_agreed_for_page(row) for row in interval_selectors.uptime(
            user=request.user, by=by, start_day=first_day, end_day=last_day, until=timezone.now(), pile=pile)]
    except (availability_selectors.PeriodError, interval_selectors.PeriodError) as exc:
        error = str(exc)
    piles = list(Pile.objects.restrict(request.user).filter(code__in={row["pile"] for row in rows}))
    by_pk = operational_selectors.pile_states(user=request.user, piles=piles)
    states = {pile.code: by_pk[pile.pk] for pile in piles}
    for row in rows:
        row["operational_state"] = states.get(row["pile"])
    for entry in reported:
        entry.update(_for_page(entry))
        entry["reports"] = [_for_page(day) for day in entry.get("reports", [])]
    return render(request, "monitoring/availability.html", {
        "form": form, "rows": rows, "start": start, "end": end, "error": error, "reported": reported,
        "first_day": first_day, "last_day": last_day, "pile": pile, "agreed": agreed, "by": by,
        "groups": AGREED_GROUPS.items(),
    })


@login_required
def area_load(request):
    institution = member_institution(request.user)
    own = {a.code for a in GridArea.objects.filter(owner=institution)} if institution and is_manager(request.user) else set()
    if request.method == "POST":
        form = forms.ThresholdForm(request.POST)
        if form.is_valid():
            try:
                submission = grid_services.load_threshold_set(actor=request.user, area=form.cleaned_data["area"],
                                                              percent=form.cleaned_data["percent"])
            except ValidationError as exc:
                messages.error(request, service_error_text(exc))
            else:
                return pending_redirect(request, submission, next_url=request.path)
        else:
            messages.error(request, _("Give a threshold between 1 and 200 %."))
        return redirect(request.path)
    visible = GridArea.objects.restrict(request.user, "view")
    rows = load_services.area_loads(areas=visible, user=request.user)
    for row in rows:
        row["can_set"] = row["area"] in own
    areas = list(visible.order_by("code"))
    recent = interval_selectors.recent_loads(user=request.user, areas=areas)
    agreed = []
    for area in areas:
        for load in recent[area.pk]:
            kw = Decimal(load.average_w) / 1000
            agreed.append({"area": area.code, "start": load.start, "seconds": load.seconds, "average_kw": kw.quantize(Decimal("0.1")),
                           "percent": (kw * 100 / area.capacity_kw).quantize(Decimal("0.1")) if area.capacity_kw else None,
                           "connectors": load.connectors, "height": load.height})
    return render(request, "monitoring/area_load.html", {"rows": rows, "agreed": agreed})
