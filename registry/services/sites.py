"""Stations: written by their operator's transactions (registry.contracts).

The private fields (contact name, phone, notes) are sealed here, at the node that sends the
transaction, for `station_readers`; the ledger never sees them in clear. Changing them, or anything
that changes who may read them (the grid area, the consortium's regulators and metrology
institutes), seals them anew, which needs their current values: the operator's node (one of the
readers) opens the section it sealed; a node that cannot open it must be given all three anew.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.submit import submit
from ledger.sealing import readers_problem, seal_for
from registry.contracts.common import text_value
from registry.contracts.sites import station_readers
from registry.models import GridArea, Institution, Station
from registry.selectors import station_private
from registry.services.common import require, require_add, resolve
from registry.services.payload import changes_payload, plain

UNCHANGED = object()


def private_values(values: dict) -> dict:
    """The three private fields as text the ledger's rules accept, each within its length."""
    checked = {}
    for name in Station.PRIVATE_FIELDS:
        value = text_value(values.get(name) or "", name)
        limit = Station.PRIVATE_MAX_LENGTH[name]
        if len(value) > limit:
            raise ValidationError({name: _("At most %(limit)d characters.") % {"limit": limit}})
        checked[name] = value
    return checked


def seal_private(values: dict, readers: list[str]) -> dict | None:
    """The sealed section for `values`, or None when every field is empty."""
    return seal_for(values, readers) if any(values.values()) else None


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
    station = Station(operator=operator, grid_area=grid_area, code=code)
    require(actor, "add", station)
    values = private_values({"contact_name": contact_name, "contact_phone": contact_phone, "notes": notes})
    payload = plain({
        "operator": operator, "code": code, "name": name, "address": address, "latitude": latitude,
        "longitude": longitude, "grid_area": grid_area,
    })
    section = seal_private(values, station_readers(station))
    if section is not None:
        payload["private_sealed"] = section
    return submit(actor=actor, type="registry.station_create", payload=payload, institution=operator)


def _private_change(station: Station, given: dict, grid_area):
    """The new sealed section for the update (a section or None), or UNCHANGED."""
    readers = station_readers(Station(operator=station.operator, grid_area=grid_area))
    current_section = station.private_sealed
    readers_hold = current_section is None or readers_problem(current_section, readers, what="private fields") is None
    if not given and readers_hold:
        return UNCHANGED
    current = station_private(station)
    if current is None:  # sealed, and this node is not among the readers
        if set(given) != set(Station.PRIVATE_FIELDS):
            field = "grid_area" if not given else sorted(set(Station.PRIVATE_FIELDS) - set(given))[0]
            raise ValidationError({field: _(
                "The station's contacts are sealed for their readers, and this node is not one of them: "
                "its operator's node must send this change, or give the contact name, phone and notes anew."
            )})
        current = {}
    values = private_values({**current, **given})
    if values == current and readers_hold:
        return UNCHANGED
    section = seal_private(values, readers)
    return UNCHANGED if section is None and current_section is None else section


def station_update(*, actor, station: Station, data: dict):
    require(actor, "change", station)
    data = dict(data)
    given = {name: data.pop(name) for name in Station.PRIVATE_FIELDS if name in data}
    grid_area = data.get("grid_area", station.grid_area)
    if not isinstance(grid_area, GridArea):
        grid_area = resolve(GridArea, grid_area, field="grid_area")
    changes = changes_payload(station, data)
    section = _private_change(station, given, grid_area)
    if section is not UNCHANGED:
        changes["private_sealed"] = section
    if not changes:
        return None
    return submit(actor=actor, type="registry.station_update", payload={"code": station.code, "changes": changes},
                  institution=station.operator)
