"""Stations: an operator opens and changes its charging stations."""

from __future__ import annotations

from ledger.contracts import register
from registry.contracts.common import (
    announce, apply_changes, changes_data, field_value, owner_signs, payload_fields, resolve_exact, save_row,
)
from registry.models import GridArea, Institution, Station

STATION_MUTABLE = ("name", "address", "latitude", "longitude", "grid_area", "contact_name", "contact_phone", "notes")


@register("registry.station_create", roles={"operator"})
def station_create(ctx, tx):
    """An operator opens a charging station in a grid area."""
    p = payload_fields(
        tx.payload, ("operator", "code", "name", "address", "latitude", "longitude", "grid_area"),
        ("contact_name", "contact_phone", "notes"),
    )
    station = Station(
        operator=resolve_exact(Institution, p["operator"], field="operator"),
        grid_area=resolve_exact(GridArea, p["grid_area"], field="grid_area"),
        **{name: field_value(name, p.get(name)) for name in (
            "code", "name", "address", "latitude", "longitude", "contact_name", "contact_phone", "notes")},
    )
    station.full_clean()
    owner_signs(ctx, station.operator, "station")
    save_row(ctx, station)
    announce(ctx, "created", station)


@register("registry.station_update", roles={"operator"})
def station_update(ctx, tx):
    p = payload_fields(tx.payload, ("code", "changes"))
    station = resolve_exact(Station, p["code"], field="code")
    owner_signs(ctx, station.operator, "station")
    data = changes_data(p, STATION_MUTABLE, {"grid_area": (GridArea, "code"), "operator": (Institution, "code")})
    if apply_changes(station, data, mutable=STATION_MUTABLE):
        save_row(ctx, station)
        announce(ctx, "updated", station)
