"""Piles and connectors: an operator registers, changes and retires its piles (with their
connectors and keys, all or nothing) and adds connectors."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ledger.contracts import register
from registry.contracts.common import (
    MAX_NESTED, announce, apply_changes, changes_data, field_value, nested_error, owner_signs, payload_fields,
    require_active, resolve_exact, save_row, text_value,
)
from registry.contracts.keys import add_key, revoke_all
from registry.models import Connector, Pile, PileStatus, Station

PILE_MUTABLE = (
    "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status", "public",
    "vendor", "model_name", "serial_number", "firmware_version",
)
PILE_FIELDS = (
    "accuracy_class", "commissioned_on", "status", "public", "vendor", "model_name", "serial_number",
    "firmware_version", "connectors", "keys",
)


@register("registry.pile_register", roles={"operator"})
def pile_register(ctx, tx):
    """A pile joins the consortium as a light node: with its connectors and public keys, all or nothing."""
    p = payload_fields(tx.payload, ("station", "code", "kind", "rated_power_kw"), PILE_FIELDS)
    station = resolve_exact(Station, p["station"], field="station")
    pile = Pile(station=station, code=text_value(p["code"], "code"), kind=text_value(p["kind"], "kind"),
                rated_power_kw=field_value("rated_power_kw", p["rated_power_kw"]))
    for name in ("accuracy_class", "commissioned_on", "status", "vendor", "model_name", "serial_number",
                 "firmware_version"):
        if p.get(name) not in (None, ""):
            setattr(pile, name, field_value(name, p[name]))
    if "public" in p:  # omitted: public, the model's default
        pile.public = field_value("public", p["public"])
    pile.full_clean()
    owner_signs(ctx, station.operator, "station")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("A new pile cannot be retired.")})
    save_row(ctx, pile)
    connectors, keys = p.get("connectors") or [], p.get("keys") or []
    for field, items in (("connectors", connectors), ("keys", keys)):
        if not isinstance(items, list) or len(items) > MAX_NESTED:
            raise ValidationError({field: _("Send a list of at most %(n)d items.") % {"n": MAX_NESTED}})
    for index, item in enumerate(connectors):
        try:
            _add_connector(ctx, pile, item)
        except ValidationError as exc:
            raise nested_error("connectors", index, exc) from exc
    for index, item in enumerate(keys):
        try:
            add_key(ctx, pile, item)
        except ValidationError as exc:
            raise nested_error("keys", index, exc) from exc
    announce(ctx, "created", pile)


@register("registry.pile_update", roles={"operator"})
def pile_update(ctx, tx):
    p = payload_fields(tx.payload, ("code", "changes"))
    pile = resolve_exact(Pile, p["code"], field="code")
    owner_signs(ctx, pile.station.operator, "pile")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("A retired pile cannot be changed.")})
    data = changes_data(p, PILE_MUTABLE, {"station": (Station, "code")})
    if apply_changes(pile, data, mutable=PILE_MUTABLE):
        save_row(ctx, pile)
        if pile.status == PileStatus.RETIRED:  # leaving: its keys go with it
            revoke_all(ctx, pile, "device retired")
        announce(ctx, "updated", pile)


@register("registry.pile_retire", roles={"operator"})
def pile_retire(ctx, tx):
    """A pile leaves: retired, and every key it had is revoked from this block on."""
    p = payload_fields(tx.payload, ("code",), ("reason",))
    pile = resolve_exact(Pile, p["code"], field="code")
    owner_signs(ctx, pile.station.operator, "pile")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("This pile is already retired.")})
    pile.status = PileStatus.RETIRED
    save_row(ctx, pile)
    revoke_all(ctx, pile, text_value(p.get("reason"), "reason") or "device retired")
    announce(ctx, "retired", pile)


@register("registry.connector_add", roles={"operator"})
def connector_add(ctx, tx):
    p = payload_fields(tx.payload, ("pile",), ("connector_id", "standard", "evse_id", "evse_connector_id", "max_power_kw"))
    pile = resolve_exact(Pile, p["pile"], field="pile")
    owner_signs(ctx, pile.station.operator, "pile")
    require_active(pile)
    connector = _add_connector(ctx, pile, {k: v for k, v in p.items() if k != "pile"})
    announce(ctx, "created", connector)


def _add_connector(ctx, pile: Pile, item) -> Connector:
    item = payload_fields(item, ("connector_id", "standard"), ("evse_id", "evse_connector_id", "max_power_kw"))
    connector_id = field_value("connector_id", item["connector_id"])
    evse_id = field_value("evse_id", item.get("evse_id"))
    connector = Connector(
        pile=pile, connector_id=connector_id, evse_id=evse_id if evse_id is not None else connector_id,
        evse_connector_id=field_value("evse_connector_id", item.get("evse_connector_id")) or 1,
        standard=text_value(item["standard"], "standard"), max_power_kw=field_value("max_power_kw", item.get("max_power_kw")),
    )
    if isinstance(connector_id, int):
        connector.uid = Connector.derive_uid(pile.code, connector_id)
    save_row(ctx, connector)
    return connector
