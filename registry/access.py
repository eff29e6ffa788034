"""Who may see and change what in the registry: the one place that policy lives.

Every registry model's manager is a RestrictedQuerySet, so views, the API, the admin and selectors
all narrow their querysets the same way: `Pile.objects.restrict(request.user, "view")`.

Policy:
- anonymous, inactive or institution-less (non-platform-admin) users see nothing;
- every member sees the public fields of institutions, grid areas, stations, piles and connectors
  (the consortium's public charging map);
- a station's or pile's private fields (and pile keys) are visible to its operator, the regulator,
  the metrology institutes and the grid company owning the station's grid area;
- test boxes (and their keys) are visible to their metrology owner and the regulator;
- changes are for managers of the owning institution: operators own stations, piles, connectors and
  pile keys; metrology institutes own test boxes and their keys; grid companies own grid areas;
  the regulator changes nothing in the registry;
- Django superusers without an institution (the platform's own administrators) may do anything.
  A superuser who belongs to an institution acts as that institution, so one member's web tier
  cannot lend its staff another member's authority.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import models
from django.db.models import Q

from registry.roles import InstitutionRole, StaffRole

VIEW = "view"
CHANGE = "change"
ADD = "add"

OPERATOR = InstitutionRole.OPERATOR.value
METROLOGY = InstitutionRole.METROLOGY.value
GRID = InstitutionRole.GRID.value
REGULATOR = InstitutionRole.REGULATOR.value

# Model label -> the ways an object leads to the institution that owns it, with the role that owner
# must have (None: any role). Ownership decides change rights.
OWNERSHIP: dict[str, list[tuple[str, str | None]]] = {
    "registry.institution": [],  # platform administrators only
    "registry.gridarea": [("owner", GRID)],
    "registry.station": [("operator", OPERATOR)],
    "registry.pile": [("station__operator", OPERATOR)],
    "registry.connector": [("pile__station__operator", OPERATOR)],
    "registry.fieldtestbox": [("owner", METROLOGY)],
    "registry.devicekey": [("pile__station__operator", OPERATOR), ("test_box__owner", METROLOGY)],
    "registry.apitoken": [("institution", None)],
    "registry.user": [("institution", None)],
}

# Visible (their public fields) to every member institution.
PUBLIC_MODELS = {
    "registry.institution", "registry.gridarea", "registry.station", "registry.pile", "registry.connector",
}

# Models with private fields, and the path from each to its station.
STATION_PATH = {"registry.station": "", "registry.pile": "station__"}


def is_platform_admin(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_superuser
        and getattr(user, "institution_id", None) is None
    )


def member_institution(user):
    """The institution a user acts for, or None for anonymous, inactive and unaffiliated users."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if getattr(user, "institution_id", None) is None:
        return None
    return user.institution


def is_manager(user) -> bool:
    return member_institution(user) is not None and user.staff_role == StaffRole.MANAGER


def _label(model) -> str:
    return model._meta.label_lower


def _any(queries: list[Q]) -> Q | None:
    return reduce(or_, queries) if queries else None


# --- private fields -----------------------------------------------------------------------------
def _private_q(user, station_path: str) -> Q | None:
    """Rows (reached through `station_path`) whose private fields the user may see."""
    if is_platform_admin(user):
        return Q()
    institution = member_institution(user)
    if institution is None:
        return None
    if institution.role in (REGULATOR, METROLOGY):
        return Q()
    if institution.role == OPERATOR:
        return Q(**{f"{station_path}operator": institution.pk})
    if institution.role == GRID:
        return Q(**{f"{station_path}grid_area__owner": institution.pk})
    return None


def private_fields_visible(user, obj) -> bool:
    """Whether the user may see `obj`'s private fields (stations and piles have some)."""
    if is_platform_admin(user):
        return True
    institution = member_institution(user)
    if institution is None:
        return False
    label = _label(type(obj))
    if label not in STATION_PATH:
        return can(user, VIEW, obj)
    if institution.role in (REGULATOR, METROLOGY):
        return True
    station = obj if label == "registry.station" else obj.station
    if institution.role == OPERATOR:
        return station.operator_id == institution.pk
    if institution.role == GRID:
        return station.grid_area.owner_id == institution.pk
    return False


# --- view and change as querysets ---------------------------------------------------------------
def _testbox_view_q(user, prefix: str) -> Q | None:
    institution = member_institution(user)
    if institution is None:
        return None
    if institution.role == REGULATOR:
        return Q()
    return Q(**{f"{prefix}owner": institution.pk})


def view_q(model, user) -> Q | None:
    """The rows of `model` the user may see, as a Q (None: none at all)."""
    if is_platform_admin(user):
        return Q()
    institution = member_institution(user)
    if institution is None:
        return None
    label = _label(model)
    if label in PUBLIC_MODELS:
        return Q()
    if label == "registry.fieldtestbox":
        return _testbox_view_q(user, "")
    if label == "registry.devicekey":
        pile_q = _private_q(user, "pile__station__")
        box_q = _testbox_view_q(user, "test_box__")
        parts = []
        if pile_q is not None:
            parts.append(Q(pile__isnull=False) & pile_q)
        if box_q is not None:
            parts.append(Q(test_box__isnull=False) & box_q)
        return _any(parts)
    if label == "registry.firmwareattestation":  # what the pile runs is as private as its firmware field
        return _private_q(user, "pile__station__")
    if label == "registry.apitoken":
        return Q(institution=institution.pk) if is_manager(user) else None
    if label == "registry.user":
        return Q(institution=institution.pk)
    return None


def change_q(model, user) -> Q | None:
    """The rows of `model` the user may change, as a Q (None: none at all)."""
    if is_platform_admin(user):
        return Q()
    if not is_manager(user):
        return None
    institution = user.institution
    return _any(
        [
            Q(**{path: institution.pk})
            for path, role in OWNERSHIP.get(_label(model), [])
            if role is None or role == institution.role
        ]
    )


def restriction_q(model, user, action: str) -> Q | None:
    if action == VIEW:
        return view_q(model, user)
    if action == CHANGE:
        return change_q(model, user)
    raise ValueError(f"unknown action {action!r}")


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = VIEW):
        q = restriction_q(self.model, user, action)
        return self.none() if q is None else self.filter(q)


# --- single objects -----------------------------------------------------------------------------
def _owner_id(obj, path: str):
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop, None)
        if obj is None:
            return None
    return getattr(obj, f"{last}_id", None)


def may_add_kind(user, model) -> bool:
    """Whether the user could create some object of this model at all (before looking at owners)."""
    if is_platform_admin(user):
        return True
    if not is_manager(user):
        return False
    role = user.institution.role
    return any(owner_role in (None, role) for _, owner_role in OWNERSHIP.get(_label(model), []))


def can(user, action: str, obj) -> bool:
    """Whether the user may `action` ("view", "change", or "add" for an unsaved object) this object."""
    if is_platform_admin(user):
        return True
    if action == ADD or obj.pk is None:
        if not is_manager(user):
            return False
        institution = user.institution
        return any(
            _owner_id(obj, path) == institution.pk and owner_role in (None, institution.role)
            for path, owner_role in OWNERSHIP.get(_label(type(obj)), [])
        )
    q = restriction_q(type(obj), user, action)
    if q is None:
        return False
    return type(obj)._default_manager.filter(q, pk=obj.pk).exists()
