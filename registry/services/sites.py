from decimal import Decimal

from django.db import transaction

from registry.models import GridArea, Institution, Station
from registry.services.common import (
    announce, apply_changes, insert, locked, require, require_add, resolve, save_validated,
)

STATION_MUTABLE = (
    "name", "address", "latitude", "longitude", "grid_area", "contact_name", "contact_phone", "notes",
)


@transaction.atomic
def station_create(
    *,
    actor,
    operator,
    code: str,
    name: str,
    address: str,
    latitude: Decimal,
    longitude: Decimal,
    grid_area,
    contact_name: str = "",
    contact_phone: str = "",
    notes: str = "",
) -> Station:
    require_add(actor, Station)
    station = Station(
        operator=resolve(Institution, operator, field="operator"),
        code=code,
        name=name,
        address=address,
        latitude=latitude,
        longitude=longitude,
        grid_area=resolve(GridArea, grid_area, field="grid_area"),
        contact_name=contact_name,
        contact_phone=contact_phone,
        notes=notes,
    )
    station.full_clean()
    require(actor, "add", station)
    insert(station)
    announce("created", station, actor=actor)
    return station


@transaction.atomic
def station_update(*, actor, station: Station, data: dict) -> Station:
    require(actor, "change", station)
    data = dict(data)
    if "grid_area" in data:
        data["grid_area"] = resolve(GridArea, data["grid_area"], field="grid_area")
    if "operator" in data:
        data["operator"] = resolve(Institution, data["operator"], field="operator")
    station = locked(station)
    if apply_changes(station, data, mutable=STATION_MUTABLE):
        save_validated(station)
        announce("updated", station, actor=actor)
    return station
