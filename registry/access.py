"""Who may see and change what: the one mechanism, for every app.

Every model a person or a token reads has a RestrictedQuerySet manager, so pages, the API, the admin,
exports, websocket consumers and selectors all narrow their querysets the same way:
`Pile.objects.restrict(request.user, "view")`. The registry's own models are ruled below by their
labels; every other app declares its rule next to its fields, as the model's `restriction` (one of
the rules at the end of this module: `PileData`, `Parties`, `MembersSee`, `StartedBy`, or an app's
own `Rule`), and `tests/test_visibility.py` checks that none is forgotten.

Actions: "view" (the rows a user may see), "change" (may change), "view_private" (a station's or
pile's private fields, and so everything the other apps keep about a pile), "own" (rows the user's
institution owns, whatever the user's staff role) and "operate" (the same, for its managers and
engineers: who may command a pile).

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
PRIVATE = "view_private"
OWN = "own"
OPERATE = "operate"
OPERATING_STAFF = (StaffRole.MANAGER, StaffRole.ENGINEER)

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
ALL = "all"


def pile_audience(user) -> tuple[str, object] | None:
    """Whose piles' private data the user may see: everything for platform administrators, else
    what the user's institution may see (`institution_audience`)."""
    if is_platform_admin(user):
        return ALL, None
    return institution_audience(member_institution(user))


def institution_audience(institution) -> tuple[str, object] | None:
    """The one ladder for a pile's private data: (ALL, None) for the regulator and the metrology
    institutes (they verify anyone's meters); ("operator", institution) for an operator (its own
    piles); ("area_owner", institution) for a grid company (the piles in its areas); None for
    anyone else. Querysets use it through `_private_q`; alerts, which are plain data, through
    `monitoring.alerts.scope_of`."""
    if institution is None:
        return None
    if institution.role in (REGULATOR, METROLOGY):
        return ALL, None
    if institution.role == OPERATOR:
        return "operator", institution
    if institution.role == GRID:
        return "area_owner", institution
    return None


def _private_q(user, station_path: str, *, area_owner: bool = True) -> Q | None:
    """Rows (reached through `station_path`) whose private fields the user may see; `area_owner`:
    whether a grid company sees those of the piles in its areas."""
    audience = pile_audience(user)
    if audience is None:
        return None
    kind, institution = audience
    if kind == ALL:
        return Q()
    if kind == "operator":
        return Q(**{f"{station_path}operator": institution.pk})
    return Q(**{f"{station_path}grid_area__owner": institution.pk}) if area_owner else None


def private_fields_visible(user, obj) -> bool:
    """Whether the user may see `obj`'s private fields (stations and piles have some): the ladder of
    `pile_audience`, on one object without a query."""
    label = _label(type(obj))
    if label not in STATION_PATH:
        return can(user, VIEW, obj)
    audience = pile_audience(user)
    if audience is None:
        return False
    kind, institution = audience
    station = obj if label == "registry.station" else obj.station
    if kind == ALL:
        return True
    if kind == "operator":
        return station.operator_id == institution.pk
    return station.grid_area.owner_id == institution.pk


# --- view and change as querysets ---------------------------------------------------------------
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
        return Parties("owner").view_q(user)  # its metrology institute and the regulator
    if label == "registry.devicekey":
        pile_q = _private_q(user, "pile__station__")
        box_q = Parties("test_box__owner").view_q(user)
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


def own_q(model, user, *, staff: tuple[str, ...] | None = None) -> Q | None:
    """The rows of `model` the user's institution owns (any staff role, or one of `staff`)."""
    if is_platform_admin(user):
        return Q()
    institution = member_institution(user)
    if institution is None or (staff is not None and user.staff_role not in staff):
        return None
    return _any([
        Q(**{path: institution.pk})
        for path, role in OWNERSHIP.get(_label(model), [])
        if role is None or role == institution.role
    ])


def restriction_q(model, user, action: str) -> Q | None:
    rule = getattr(model, "restriction", None)
    if rule is not None:
        return rule.q(user, action)
    if action == VIEW:
        return view_q(model, user)
    if action == CHANGE:
        return change_q(model, user)
    if action == PRIVATE and _label(model) in STATION_PATH:
        return _private_q(user, STATION_PATH[_label(model)])
    if action == OWN:
        return own_q(model, user)
    if action == OPERATE:
        return own_q(model, user, staff=OPERATING_STAFF)
    raise ValueError(f"no rule for {action!r} on {_label(model)}")


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


# --- the rules other apps declare on their models ------------------------------------------------
class Rule:
    """How a model's rows are restricted, declared on the model as `restriction = <Rule>`. Rules of
    the other apps answer "view" only: their rows change through services and contracts."""

    actions = (VIEW,)

    def q(self, user, action: str) -> Q | None:
        if action not in self.actions:
            raise ValueError(f"{type(self).__name__} has no rule for {action!r}")
        return self.view_q(user)

    def view_q(self, user) -> Q | None:
        raise NotImplementedError


class MembersSee(Rule):
    """Public to every member institution (published tariffs and policies)."""

    def view_q(self, user) -> Q | None:
        return Q() if is_platform_admin(user) or member_institution(user) is not None else None


class PileData(Rule):
    """What is kept about a pile, reached through `prefix` + "pile": as private as the pile's private
    fields (`pile_audience`). `area_owner=False`: grid companies do not see it (charging sessions,
    which name the driver's token)."""

    def __init__(self, prefix: str = "pile__", *, area_owner: bool = True):
        self.prefix = prefix
        self.area_owner = area_owner

    def view_q(self, user) -> Q | None:
        return _private_q(user, f"{self.prefix}station__", area_owner=self.area_owner)


class Parties(Rule):
    """An agreement's: each institution named by one of `fields`, and the `overseers` (the regulator)."""

    def __init__(self, *fields: str, overseers: tuple[str, ...] = (REGULATOR,)):
        self.fields = fields
        self.overseers = overseers

    def view_q(self, user) -> Q | None:
        if is_platform_admin(user):
            return Q()
        institution = member_institution(user)
        if institution is None:
            return None
        if institution.role in self.overseers:
            return Q()
        return _any([Q(**{field: institution.pk}) for field in self.fields])


class StartedBy(Rule):
    """Only the user named by `field` (a job and its file)."""

    def __init__(self, field: str = "user"):
        self.field = field

    def view_q(self, user) -> Q | None:
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        return Q(**{self.field: user.pk})
