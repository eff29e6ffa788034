"""Reads of subsidy data, narrowed to who may see them: a claim is the operator's and the regulator's."""

from __future__ import annotations

from django.core.paginator import Paginator

from subsidy.models import Claim, Policy


def claims_for(user):
    """A claim is its operator's and the regulator's (Claim.restriction)."""
    return Claim.objects.restrict(user).select_related("operator", "policy")


def policies_for(user):
    """Policies are public to every member: operators must know the rules they claim under."""
    return Policy.objects.restrict(user)


LINES_PER_PAGE = 100


def claim_lines(claim: Claim, *, held_only: bool = False):
    """A claim's lines with their piles and exclusions, by pile code; `held_only`: those with energy held."""
    rows = claim.lines.select_related("pile").prefetch_related("exclusions").order_by("pile__code", "pk")
    return rows.filter(excluded_wh__gt=0) if held_only else rows


def claim_detail(user, uid, *, page=1, held_only: bool = False):
    """A claim with one page of its lines (a claim may cover thousands of piles) and their exclusions;
    `held_only`: the lines with energy held."""
    claim = claims_for(user).filter(uid=uid).first()
    if claim is None:
        return None
    rows = claim_lines(claim, held_only=held_only)
    page_obj = Paginator(rows, LINES_PER_PAGE).get_page(page)
    return {"claim": claim, "lines": list(page_obj.object_list), "page_obj": page_obj, "held_only": held_only,
            "lines_total": page_obj.paginator.count, "steps": list(claim.steps.all())}
