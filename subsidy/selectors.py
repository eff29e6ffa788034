"""Reads of subsidy data, narrowed to who may see them: a claim is the operator's and the regulator's."""

from __future__ import annotations

from registry.access import is_platform_admin, member_institution
from registry.roles import InstitutionRole
from subsidy.models import Claim, Policy


def claims_for(user):
    qs = Claim.objects.select_related("operator", "policy")
    if is_platform_admin(user):
        return qs
    institution = member_institution(user)
    if institution is None:
        return qs.none()
    if institution.role == InstitutionRole.REGULATOR:
        return qs
    if institution.role == InstitutionRole.OPERATOR:
        return qs.filter(operator=institution)
    return qs.none()


def policies_for(user):
    """Policies are public to every member (operators must know the rules they claim under)."""
    if is_platform_admin(user) or member_institution(user) is not None:
        return Policy.objects.all()
    return Policy.objects.none()


def claim_detail(user, uid):
    claim = claims_for(user).filter(uid=uid).first()
    if claim is None:
        return None
    lines = list(claim.lines.select_related("pile").prefetch_related("exclusions"))
    return {"claim": claim, "lines": lines, "steps": list(claim.steps.all())}
