"""Stations: an operator opens and changes its charging stations.

A station's private fields (contact name, phone, notes) travel sealed (ledger.sealing): the operator's
node seals them for exactly the institutions that may read them, `station_readers`, and the contract
checks that reader list and their published keys on every write, so a station whose grid area
changes must come with its private fields sealed anew for the new area's grid company.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from ledger.contracts import register
from ledger.sealing import members_with_roles, readers_problem
from registry.contracts.common import (
    announce, apply_changes, changes_data, field_value, owner_signs, payload_fields, resolve_exact, save_row,
)
from registry.models import GridArea, Institution, InstitutionRole, Station

STATION_MUTABLE = ("name", "address", "latitude", "longitude", "grid_area", "private_sealed")


def station_readers(station: Station) -> list[str]:
    """Who may read a station's private fields (registry.access.institution_audience, as codes): its
    operator, the grid company owning its area, every regulator and metrology institute of the
    definition in force; by code point."""
    overseers = members_with_roles(InstitutionRole.REGULATOR, InstitutionRole.METROLOGY)
    return sorted({station.operator.code, station.grid_area.owner.code, *overseers})


def check_private(station: Station) -> None:
    if station.private_sealed is None:
        return
    problem = readers_problem(station.private_sealed, station_readers(station), what="private fields")
    if problem:
        raise ValidationError({"private_sealed": problem})


@register("registry.station_create", roles={"operator"})
def station_create(ctx, tx):
    """An operator opens a charging station in a grid area."""
    p = payload_fields(
        tx.payload, ("operator", "code", "name", "address", "latitude", "longitude", "grid_area"),
        ("private_sealed",),
    )
    station = Station(
        operator=resolve_exact(Institution, p["operator"], field="operator"),
        grid_area=resolve_exact(GridArea, p["grid_area"], field="grid_area"),
        **{name: field_value(name, p.get(name)) for name in (
            "code", "name", "address", "latitude", "longitude", "private_sealed")},
    )
    station.full_clean()
    owner_signs(ctx, station.operator, "station")
    check_private(station)
    save_row(ctx, station)
    announce(ctx, "created", station)


@register("registry.station_update", roles={"operator"})
def station_update(ctx, tx):
    p = payload_fields(tx.payload, ("code", "changes"))
    station = resolve_exact(Station, p["code"], field="code")
    owner_signs(ctx, station.operator, "station")
    data = changes_data(p, STATION_MUTABLE, {"grid_area": (GridArea, "code"), "operator": (Institution, "code")})
    if apply_changes(station, data, mutable=STATION_MUTABLE):
        check_private(station)  # on every change: a new area needs the new owner among the readers
        save_row(ctx, station)
        announce(ctx, "updated", station)
