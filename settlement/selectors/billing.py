"""Reads of tariffs, statements and jobs: a statement is its two parties' and the regulator's; a job
is its user's."""

from __future__ import annotations

from django.db.models import Sum

from registry.access import is_manager, member_institution
from registry.models import GridArea, Station
from registry.roles import InstitutionRole
from ledger.chain.sealed import SealError
from settlement.models import EnergyTotal, JobProgress, Statement, Tariff
from settlement.terms import statement_money


def statements_for(user):
    """A statement is its two parties' and the regulator's (Statement.restriction)."""
    return Statement.objects.restrict(user).select_related("area", "operator", "grid", "terms", "corrects")


def closable_areas(user) -> list[str]:
    """The areas a manager may close: a grid company's own areas, an operator's areas with its piles."""
    institution = member_institution(user)
    if institution is None or not is_manager(user):
        return []
    if institution.role == InstitutionRole.GRID:
        return list(GridArea.objects.filter(owner=institution).order_by("code").values_list("code", flat=True))
    if institution.role == InstitutionRole.OPERATOR:
        return sorted(set(Station.objects.filter(operator=institution).values_list("grid_area__code", flat=True)))
    return []


def jobs_for(user):
    """A job (and its file) is only for the user who started it (JobProgress.restriction)."""
    return JobProgress.objects.restrict(user)


def tariffs_for(user):
    """Published tariffs are public to members (Tariff.restriction)."""
    return Tariff.objects.restrict(user).select_related("area")


# A statement has an item per pile and band: pages and the API show them a page at a time.
ITEMS_PER_PAGE = 100


def statement_view(user, statement: Statement) -> dict:
    """Items, the area meter comparison and the money as this node computes it (with the terms when it
    can read them)."""
    items = list(statement.items.select_related("pile"))
    institution = member_institution(user)
    money, complete, problem = None, False, ""
    try:
        money, complete = statement_money(statement, items=items)
    except SealError as exc:
        problem = str(exc)
    difference = None
    if statement.area_meter_wh is not None:
        piles = EnergyTotal.objects.filter(period=statement.period, pile__station__grid_area=statement.area)
        difference = statement.area_meter_wh - (piles.aggregate(s=Sum("energy_wh"))["s"] or 0)
    party = institution is not None and institution.pk in (statement.operator_id, statement.grid_id)
    return {"statement": statement, "items": items, "money": money, "complete": complete, "problem": problem,
            "meter_difference_wh": difference, "party": party, "steps": list(statement.steps.all())}
