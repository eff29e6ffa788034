"""Reads of charging sessions, narrowed to what a user may see."""

from __future__ import annotations

from registry.access import is_platform_admin, member_institution
from registry.roles import InstitutionRole
from settlement.models import ChargingSession


def sessions_for(user):
    """Operators see their piles' sessions; the regulator and metrology institutes see all."""
    qs = ChargingSession.objects.select_related("pile")
    if is_platform_admin(user):
        return qs
    institution = member_institution(user)
    if institution is None:
        return qs.none()
    if institution.role in (InstitutionRole.REGULATOR, InstitutionRole.METROLOGY):
        return qs
    if institution.role == InstitutionRole.OPERATOR:
        return qs.filter(pile__station__operator=institution)
    return qs.none()
