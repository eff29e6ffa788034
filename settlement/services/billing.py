"""Settlement's writes for money (services): tariffs, fees, sealed terms, area meters, closing,
confirming (with the hash this node computes), disputing and correcting statements."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from core import localtime
from core.submit import submit
from ledger.models import Block
from ledger.runtime import node
from registry.access import is_manager, member_institution
from registry.models import GridArea, Station
from settlement.contracts.billing import regulators
from settlement.models import Statement
from settlement.statements import Terms, statement_hash
from settlement.tariffs import TariffError, build_tariff, check_period, parse_price
from settlement.terms import seal_terms, statement_money


def _acting(user, roles: set[str]):
    institution = member_institution(user)
    if institution is None or institution.role not in roles or not is_manager(user):
        raise PermissionDenied(_("You may not do this."))
    return institution


def _area(code: str) -> GridArea:
    area = GridArea.objects.filter(code__iexact=code).select_related("owner").first()
    if area is None:
        raise ValidationError({"area": _("No grid area %(code)s.") % {"code": code}})
    return area


def _own_area(institution, code: str) -> GridArea:
    area = _area(code)
    if area.owner_id != institution.pk:
        raise PermissionDenied(_("%(institution)s does not own grid area %(area)s.") % {
            "institution": institution.code, "area": area.code})
    return area


def tariff_publish(actor, *, area: str, valid_from: dt.date, windows: list, prices: dict):
    institution = _acting(actor, {"grid"})
    area_row = _own_area(institution, area)
    try:
        build_tariff(valid_from=valid_from, windows=windows, prices=prices)
    except TariffError as exc:
        raise ValidationError({"windows": str(exc)}) from exc
    return submit(type="settlement.tariff_publish", actor=actor, institution=institution,
                       payload={"area": area_row.code, "valid_from": valid_from.isoformat(), "windows": windows,
                                "prices": prices})


def service_fee_publish(actor, *, valid_from: dt.date, per_kwh: str):
    institution = _acting(actor, {"operator"})
    try:
        parse_price(str(per_kwh))
    except TariffError as exc:
        raise ValidationError({"per_kwh": str(exc)}) from exc
    return submit(type="settlement.service_fee_publish", actor=actor, institution=institution,
                       payload={"valid_from": valid_from.isoformat(), "per_kwh": str(per_kwh)})


def terms_publish(actor, *, area: str, operator: str, valid_from: dt.date, terms: Terms):
    """Seal the terms on this node for the operator, the area's grid company and the regulator(s)."""
    institution = _acting(actor, {"grid", "operator"})
    area_row = _area(area)
    if institution.code not in (area_row.owner.code, operator):
        raise PermissionDenied(_("Only a party may publish terms."))
    if node.role_of(operator) != "operator":  # sealing needs the operator's published key
        raise ValidationError({"operator": _("%(code)s is not an operator of the consortium.") % {"code": operator}})
    section = seal_terms(terms, operator=operator, grid=area_row.owner.code, regulators=regulators())
    return submit(type="settlement.terms_publish", actor=actor, institution=institution,
                       payload={"area": area_row.code, "operator": operator, "valid_from": valid_from.isoformat(),
                                "sealed": section})


def area_meter_report(actor, *, area: str, period: str, energy_wh: int):
    institution = _acting(actor, {"grid"})
    area_row = _own_area(institution, area)
    try:
        period = check_period(period)
    except TariffError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    return submit(type="settlement.area_meter_report", actor=actor, institution=institution,
                       payload={"area": area_row.code, "period": period, "energy_wh": int(energy_wh)})


def period_close(actor, *, area: str, period: str, check: bool = True):
    institution = _acting(actor, {"grid", "operator"})
    try:
        period = check_period(period)
    except TariffError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    area_row = _area(area)
    if institution.role == "grid" and area_row.owner_id != institution.pk:
        raise PermissionDenied(_("%(institution)s does not own grid area %(area)s.") % {
            "institution": institution.code, "area": area_row.code})
    if institution.role == "operator" and not Station.objects.filter(grid_area=area_row, operator=institution).exists():
        raise PermissionDenied(_("%(institution)s has no piles in grid area %(area)s.") % {
            "institution": institution.code, "area": area_row.code})
    require_period_over(period)
    return submit(type="settlement.period_close", actor=actor, institution=institution,
                       payload={"area": area_row.code, "period": period}, check=False)


def require_period_over(period: str) -> None:
    """Refuse a period the ledger's latest block has not passed the end of (what closing and claiming
    contracts refuse too)."""
    end = localtime.period_bounds(period)[1]
    tip = Block.objects.order_by("-height").values_list("timestamp_ms", flat=True).first() or 0
    if tip < end.timestamp() * 1000:
        raise ValidationError({"period": _("The period %(period)s is not over yet on the ledger.") % {"period": period}})


def statement_confirm(actor, *, statement: Statement):
    institution = _acting(actor, {"grid", "operator"})
    if institution.pk not in (statement.operator_id, statement.grid_id):
        raise PermissionDenied(_("Only a party confirms a statement."))
    result, complete = statement_money(statement, reader=institution.code)
    if not complete:
        raise PermissionDenied(_("This node cannot read the statement's terms."))
    digest = statement_hash(statement=str(statement.uid), result=result, terms_commitment=statement.terms_commitment)
    return submit(type="settlement.statement_confirm", actor=actor, institution=institution,
                       payload={"statement": str(statement.uid), "hash": digest})


def statement_dispute(actor, *, statement: Statement, items: list[dict]):
    institution = _acting(actor, {"grid", "operator"})
    if not items or any(not (i.get("reason") or "").strip() for i in items):
        raise ValidationError({"items": _("Each disputed item needs a reason.")})
    return submit(type="settlement.statement_dispute", actor=actor, institution=institution,
                       payload={"statement": str(statement.uid), "items": [
                           {"pile": i["pile"], "band": i["band"], "reason": i["reason"].strip()} for i in items]})


def statement_correct(actor, *, statement: Statement, reason: str):
    institution = _acting(actor, {"grid", "operator"})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A correction needs a reason.")})
    return submit(type="settlement.statement_correct", actor=actor, institution=institution,
                       payload={"statement": str(statement.uid), "reason": reason.strip()})

