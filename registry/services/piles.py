from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from registry.models import AccuracyClass, Connector, Pile, PileStatus, Station
from registry.services.common import (
    announce, apply_changes, insert, locked, require, require_add, resolve, save_validated,
)

PILE_MUTABLE = (
    "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status",
    "vendor", "model_name", "serial_number", "firmware_version",
)


def _nested(field: str, index: int, exc: ValidationError) -> ValidationError:
    """Errors of the n-th nested item, reported under the list's field so a client can find them."""
    if hasattr(exc, "error_dict"):
        messages = [f"[{index}] {name}: {msg}" for name, msgs in exc.message_dict.items() for msg in msgs]
    else:
        messages = [f"[{index}] {msg}" for msg in exc.messages]
    return ValidationError({field: messages})


@transaction.atomic
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
    vendor: str = "",
    model_name: str = "",
    serial_number: str = "",
    firmware_version: str = "",
    connectors: list[dict] = (),
    keys: list[dict] = (),
) -> Pile:
    """Registers a pile, optionally with its connectors and keys: all of it or nothing."""
    from registry.services.keys import device_key_add

    require_add(actor, Pile)
    pile = Pile(
        station=resolve(Station, station, field="station"),
        code=code,
        kind=kind,
        rated_power_kw=rated_power_kw,
        accuracy_class=accuracy_class,
        commissioned_on=commissioned_on,
        status=status,
        vendor=vendor,
        model_name=model_name,
        serial_number=serial_number,
        firmware_version=firmware_version,
    )
    pile.full_clean()
    require(actor, "add", pile)
    insert(pile)
    for index, item in enumerate(connectors or ()):
        try:
            connector_add(actor=actor, pile=pile, **item)
        except ValidationError as exc:
            raise _nested("connectors", index, exc) from exc
        except TypeError as exc:
            raise ValidationError({"connectors": [f"[{index}] {exc}"]}) from exc
    for index, item in enumerate(keys or ()):
        try:
            device_key_add(actor=actor, pile=pile, **item)
        except ValidationError as exc:
            raise _nested("keys", index, exc) from exc
        except TypeError as exc:
            raise ValidationError({"keys": [f"[{index}] {exc}"]}) from exc
    announce("created", pile, actor=actor)
    return pile


@transaction.atomic
def pile_update(*, actor, pile: Pile, data: dict) -> Pile:
    require(actor, "change", pile)
    data = dict(data)
    if "station" in data:
        data["station"] = resolve(Station, data["station"], field="station")
    pile = locked(pile)
    if apply_changes(pile, data, mutable=PILE_MUTABLE):
        save_validated(pile)
        announce("updated", pile, actor=actor)
    return pile


@transaction.atomic
def connector_add(
    *,
    actor,
    pile,
    connector_id: int,
    standard: str,
    evse_id: int | None = None,
    evse_connector_id: int = 1,
    max_power_kw: Decimal | None = None,
) -> Connector:
    """Adds a plug. Without an EVSE id, the OCPP 2.0.1 address mirrors 1.6: EVSE n, connector 1."""
    pile = resolve(Pile, pile, field="pile")
    require(actor, "change", pile)
    try:
        connector_id = int(connector_id)
    except (TypeError, ValueError):
        raise ValidationError({"connector_id": _("Enter a whole number.")}) from None
    connector = Connector(
        pile=pile,
        connector_id=connector_id,
        evse_id=evse_id if evse_id is not None else connector_id,
        evse_connector_id=evse_connector_id,
        standard=standard,
        max_power_kw=max_power_kw,
    )
    connector.uid = Connector.derive_uid(pile.code, connector_id)
    connector.full_clean(exclude=["uid"])
    insert(connector)
    announce("created", connector, actor=actor)
    return connector
