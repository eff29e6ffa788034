"""Piles and connectors: written by their operator's transactions (registry.contracts)."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from core.submit import submit
from registry.models import AccuracyClass, Pile, PileStatus, Station
from registry.services.common import require, require_add, resolve
from registry.services.keys import key_payload
from registry.services.payload import changes_payload, plain


def _connector_payload(*, connector_id, standard, evse_id=None, evse_connector_id=1, max_power_kw=None) -> dict:
    return plain({"connector_id": connector_id, "standard": standard, "evse_id": evse_id,
                  "evse_connector_id": evse_connector_id, "max_power_kw": max_power_kw})


def _items(field: str, items, build) -> list[dict]:
    built = []
    for index, item in enumerate(items or ()):
        try:
            built.append(build(index=index, **item) if field == "keys" else build(**item))
        except TypeError as exc:
            raise ValidationError({field: [f"[{index}] {exc}"]}) from exc
    return built


def pile_register(
    *,
    actor,
    station,
    code: str,
    kind: str,
    rated_power_kw: Decimal,
    accuracy_class: int = AccuracyClass.CLASS_2,
    commissioned_on: date | None = None,
    status: str = PileStatus.PLANNED,
    public: bool = True,
    vendor: str = "",
    model_name: str = "",
    serial_number: str = "",
    firmware_version: str = "",
    connectors: list[dict] = (),
    keys: list[dict] = (),
):
    """A pile joins as a light node, with its connectors and keys: all of it or nothing."""
    require_add(actor, Pile)
    station = resolve(Station, station, field="station")
    require(actor, "add", Pile(station=station, code=code))
    payload = plain({
        "station": station, "code": code, "kind": kind, "rated_power_kw": rated_power_kw,
        "accuracy_class": accuracy_class, "commissioned_on": commissioned_on, "status": status, "public": public,
        "vendor": vendor, "model_name": model_name, "serial_number": serial_number,
        "firmware_version": firmware_version,
        "connectors": _items("connectors", connectors, _connector_payload),
        "keys": _items("keys", keys, key_payload),
    })
    return submit(actor=actor, type="registry.pile_register", payload=payload, institution=station.operator)


def pile_update(*, actor, pile: Pile, data: dict):
    require(actor, "change", pile)
    changes = changes_payload(pile, data)
    if not changes:
        return None
    return submit(actor=actor, type="registry.pile_update", payload={"code": pile.code, "changes": changes},
                  institution=pile.station.operator)


def pile_retire(*, actor, pile: Pile, reason: str = ""):
    """The pile leaves the consortium: retired, its keys revoked from that block on."""
    require(actor, "change", pile)
    return submit(actor=actor, type="registry.pile_retire", payload={"code": pile.code, "reason": reason},
                  institution=pile.station.operator)


def connector_add(
    *,
    actor,
    pile,
    connector_id: int,
    standard: str,
    evse_id: int | None = None,
    evse_connector_id: int = 1,
    max_power_kw: Decimal | None = None,
):
    """Adds a plug. Without an EVSE id, the OCPP 2.0.1 address mirrors 1.6: EVSE n, connector 1."""
    pile = resolve(Pile, pile, field="pile")
    require(actor, "change", pile)
    payload = {"pile": pile.code, **_connector_payload(
        connector_id=connector_id, standard=standard, evse_id=evse_id, evse_connector_id=evse_connector_id,
        max_power_kw=max_power_kw)}
    return submit(actor=actor, type="registry.connector_add", payload=payload, institution=pile.station.operator)
