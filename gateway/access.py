"""Who may do what with a pile's gateway side: its operator's managers and engineers."""

from __future__ import annotations

from registry.access import member_institution
from registry.models import Pile
from registry.roles import InstitutionRole, StaffRole

OPERATING_ROLES = (StaffRole.MANAGER, StaffRole.ENGINEER)


def operated_piles(user):
    """Piles the user may command and set credentials for."""
    institution = member_institution(user)
    if institution is None or institution.role != InstitutionRole.OPERATOR or user.staff_role not in OPERATING_ROLES:
        return Pile.objects.none()
    return Pile.objects.filter(station__operator=institution)


def may_operate(user, pile) -> bool:
    return operated_piles(user).filter(pk=pile.pk).exists()


def visible_piles(user):
    """Piles whose gateway page the user may see: the operator's staff, any role."""
    institution = member_institution(user)
    if institution is None or institution.role != InstitutionRole.OPERATOR:
        return Pile.objects.none()
    return Pile.objects.filter(station__operator=institution)
