"""Grid areas: a grid company describes and changes the areas of its network."""

from __future__ import annotations

from ledger.contracts import register
from registry.contracts.common import (
    announce, apply_changes, changes_data, field_value, owner_signs, payload_fields, resolve_exact, save_row,
    text_value,
)
from registry.models import GridArea, Institution

GRID_AREA_MUTABLE = ("name", "feeder_name", "transformer_name", "capacity_kw")


@register("registry.grid_area_create", roles={"grid"})
def grid_area_create(ctx, tx):
    """A grid company describes an area of its network."""
    p = payload_fields(tx.payload, ("owner", "code", "name", "capacity_kw"), ("feeder_name", "transformer_name"))
    area = GridArea(
        owner=resolve_exact(Institution, p["owner"], field="owner"), code=text_value(p["code"], "code"),
        name=text_value(p["name"], "name"), capacity_kw=field_value("capacity_kw", p["capacity_kw"]),
        feeder_name=text_value(p.get("feeder_name"), "feeder_name"),
        transformer_name=text_value(p.get("transformer_name"), "transformer_name"),
    )
    area.full_clean()
    owner_signs(ctx, area.owner, "grid area")
    save_row(ctx, area)
    announce(ctx, "created", area)


@register("registry.grid_area_update", roles={"grid"})
def grid_area_update(ctx, tx):
    p = payload_fields(tx.payload, ("code", "changes"))
    area = resolve_exact(GridArea, p["code"], field="code")
    owner_signs(ctx, area.owner, "grid area")
    if apply_changes(area, changes_data(p, GRID_AREA_MUTABLE, {}), mutable=GRID_AREA_MUTABLE):
        save_row(ctx, area)
        announce(ctx, "updated", area)
