"""Grid areas: written by the grid company's transactions (registry.contracts)."""

from decimal import Decimal

from core.submit import submit
from registry.models import GridArea, Institution
from registry.services.common import require, require_add, resolve
from registry.services.payload import changes_payload, plain


def grid_area_create(
    *, actor, owner, code: str, name: str, capacity_kw: Decimal, feeder_name: str = "", transformer_name: str = ""
):
    require_add(actor, GridArea)
    owner = resolve(Institution, owner, field="owner")
    require(actor, "add", GridArea(owner=owner, code=code))
    payload = plain({"owner": owner.code, "code": code, "name": name, "capacity_kw": capacity_kw,
                     "feeder_name": feeder_name, "transformer_name": transformer_name})
    return submit(actor=actor, type="registry.grid_area_create", payload=payload, institution=owner)


def grid_area_update(*, actor, grid_area: GridArea, data: dict):
    require(actor, "change", grid_area)
    changes = changes_payload(grid_area, data)
    if not changes:
        return None
    payload = {"code": grid_area.code, "changes": changes}
    return submit(actor=actor, type="registry.grid_area_update", payload=payload, institution=grid_area.owner)
