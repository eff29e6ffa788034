from decimal import Decimal

from django.db import transaction

from registry.models import GridArea, Institution
from registry.services.common import (
    announce, apply_changes, insert, locked, require, require_add, resolve, save_validated,
)

GRID_AREA_MUTABLE = ("name", "feeder_name", "transformer_name", "capacity_kw")


@transaction.atomic
def grid_area_create(
    *, actor, owner, code: str, name: str, capacity_kw: Decimal, feeder_name: str = "", transformer_name: str = ""
) -> GridArea:
    require_add(actor, GridArea)
    area = GridArea(
        owner=resolve(Institution, owner, field="owner"),
        code=code,
        name=name,
        feeder_name=feeder_name,
        transformer_name=transformer_name,
        capacity_kw=capacity_kw,
    )
    area.full_clean()
    require(actor, "add", area)
    insert(area)
    announce("created", area, actor=actor)
    return area


@transaction.atomic
def grid_area_update(*, actor, grid_area: GridArea, data: dict) -> GridArea:
    require(actor, "change", grid_area)
    area = locked(grid_area)
    if apply_changes(area, data, mutable=GRID_AREA_MUTABLE):
        save_validated(area)
        announce("updated", area, actor=actor)
    return area
