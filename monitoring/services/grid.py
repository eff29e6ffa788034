"""What a grid company declares: its areas' load alert thresholds, supply outages and curtailments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from core.submit import submit
from registry.access import is_manager, member_institution
from registry.models import GridArea


def _own_area(actor, area_code: str) -> GridArea:
    institution = member_institution(actor)
    area = GridArea.objects.select_related("owner").filter(code=area_code).first()
    if area is None:
        raise ValidationError({"area": _("Unknown grid area.")})
    if institution is None or not is_manager(actor) or area.owner_id != institution.pk:
        raise PermissionDenied(_("Only the grid company's managers may do this for its areas."))
    return area


def load_threshold_set(*, actor, area: str, percent) -> object:
    area = _own_area(actor, area)
    try:
        value = Decimal(str(percent)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise ValidationError({"percent": _("A number.")}) from None
    if not Decimal("1") <= value <= Decimal("200"):
        raise ValidationError({"percent": _("Between 1 and 200.")})
    return _submit("monitoring.load_threshold_set", {"area": area.code, "percent": str(value)}, actor, area)


def grid_outage_flag(*, actor, area: str, starts_at: dt.datetime, ends_at: dt.datetime, reason: str = ""):
    area = _own_area(actor, area)
    if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": _("An outage ends after it starts (times with a time zone).")})
    payload = {"area": area.code, "starts_at": starts_at.astimezone(dt.timezone.utc).isoformat(),
               "ends_at": ends_at.astimezone(dt.timezone.utc).isoformat(), "reason": reason[:300]}
    return _submit("monitoring.grid_outage_flag", payload, actor, area)


def curtailment_request(*, actor, area: str, starts_at: dt.datetime, ends_at: dt.datetime, limit_kw,
                        reason: str = ""):
    """Limit the area's charging power for a time range (docs/intervals.md, "Curtailment")."""
    area = _own_area(actor, area)
    if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
        raise ValidationError({"ends_at": _("A curtailment ends after it starts (times with a time zone).")})
    try:
        limit = Decimal(str(limit_kw)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise ValidationError({"limit_kw": _("A number.")}) from None
    if limit < 0:
        raise ValidationError({"limit_kw": _("At least 0.")})
    payload = {"area": area.code, "starts_at": starts_at.astimezone(dt.timezone.utc).isoformat(),
               "ends_at": ends_at.astimezone(dt.timezone.utc).isoformat(), "limit_kw": str(limit), "reason": reason[:300]}
    return _submit("monitoring.curtailment_request", payload, actor, area)


def _submit(type_: str, payload: dict, actor, area):
    return submit(type=type_, payload=payload, actor=actor, institution=area.owner, field="area")
