"""Stations: written by their operator's transactions (registry.contracts)."""

from decimal import Decimal

from core.submit import submit
from registry.models import GridArea, Institution, Station
from registry.services.common import require, require_add, resolve
from registry.services.payload import changes_payload, plain


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
):
    require_add(actor, Station)
    operator = resolve(Institution, operator, field="operator")
    grid_area = resolve(GridArea, grid_area, field="grid_area")
    require(actor, "add", Station(operator=operator, grid_area=grid_area, code=code))
    payload = plain({
        "operator": operator, "code": code, "name": name, "address": address, "latitude": latitude,
        "longitude": longitude, "grid_area": grid_area, "contact_name": contact_name,
        "contact_phone": contact_phone, "notes": notes,
    })
    return submit(actor=actor, type="registry.station_create", payload=payload, institution=operator)


def station_update(*, actor, station: Station, data: dict):
    require(actor, "change", station)
    changes = changes_payload(station, data)
    if not changes:
        return None
    return submit(actor=actor, type="registry.station_update", payload={"code": station.code, "changes": changes},
                  institution=station.operator)
