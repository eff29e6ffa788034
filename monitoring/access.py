"""Who sees which piles' telemetry, faults and work orders: the registry's rule for a pile's private
fields (registry.access), applied to everything monitoring keeps about a pile.

    operator   its own piles          grid       piles in its grid areas
    regulator  every pile             metrology  every pile (it verifies any meter)
"""

from __future__ import annotations

from django.db.models import Q

from registry.access import is_manager, is_platform_admin, member_institution, private_fields_visible
from registry.models import Pile


def pile_q(user, prefix: str = "") -> Q | None:
    """Rows reached through `prefix` + pile whose monitoring data the user may see (None: none)."""
    if is_platform_admin(user):
        return Q()
    institution = member_institution(user)
    if institution is None:
        return None
    if institution.role in ("regulator", "metrology"):
        return Q()
    if institution.role == "operator":
        return Q(**{f"{prefix}station__operator": institution.pk})
    if institution.role == "grid":
        return Q(**{f"{prefix}station__grid_area__owner": institution.pk})
    return None


def restrict(queryset, user, prefix: str = "pile__"):
    q = pile_q(user, prefix)
    return queryset.none() if q is None else queryset.filter(q)


def visible_piles(user):
    return restrict(Pile.objects.restrict(user, "view"), user, "")


def may_see_pile(user, pile) -> bool:
    return private_fields_visible(user, pile)


def operator_staff(user, operator_id) -> bool:
    """A member of the operator acting on its work orders (engineer or manager)."""
    institution = member_institution(user)
    return bool(institution and institution.pk == operator_id and user.staff_role in ("engineer", "manager"))


def operator_manager(user, operator_id) -> bool:
    institution = member_institution(user)
    return bool(institution and institution.pk == operator_id and is_manager(user))
