"""The registry's contracts: admitting grid areas, stations, piles, connectors, test boxes and device
keys, changing them, and letting devices leave.

Every node runs these for each committed registry transaction; the services run them first as a dry
run, so a user hears of a mistake at once. A payload names things by their public ids (codes,
serials, fingerprints); validation is the models' own (`full_clean`), against the state before the
transaction. The signing institution must be the one that owns what it changes: a grid company its
areas, an operator its stations, piles and their keys, a metrology institute its test boxes. A device
(signer "device:pile:<code>" or "device:box:<serial>") may only rotate its own key.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from ledger import signers
from ledger.chain import crypto
from ledger.contracts import DEVICE, NODE, InvalidInput, decimal_value, plain_text, register
from registry.models import (
    Connector, DeviceKey, FieldTestBox, FirmwareAttestation, GridArea, Institution, KeyPurpose, KeyStatus, Pile,
    PileStatus, Station, TestBoxStatus,
)
from registry.models.keys import fingerprint_of
from registry.services.common import apply_changes
from registry.signals import registry_changed

GRID_AREA_MUTABLE = ("name", "feeder_name", "transformer_name", "capacity_kw")
STATION_MUTABLE = ("name", "address", "latitude", "longitude", "grid_area", "contact_name", "contact_phone", "notes")
PILE_MUTABLE = (
    "kind", "rated_power_kw", "accuracy_class", "commissioned_on", "status", "public",
    "vendor", "model_name", "serial_number", "firmware_version",
)
TESTBOX_MUTABLE = ("model_name", "manufacturer", "certificate_no", "certificate_expires_on", "status")
MAX_NESTED = 64


# --- payload reading -------------------------------------------------------------------------------

def _fields(payload, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(payload, dict):
        raise ValidationError(_("The payload must be an object."))
    unknown = sorted(set(payload) - set(required) - set(optional))
    missing = [name for name in required if payload.get(name) in (None, "")]
    errors = {name: [_("Unknown field.")] for name in unknown}
    errors.update({name: [_("This field is required.")] for name in missing})
    if errors:
        raise ValidationError(errors)
    return payload


def _resolve(model, value, *, field: str, lookup: str = "code"):
    """The row a payload names by its public key, matched exactly. Never case-insensitively, as the
    services' resolver falls back to for people: the database folds case (ASCII only on SQLite,
    all of Unicode on PostgreSQL), so "ſt-1" would name ST-1 on one node and nothing on another."""
    if value is None or value == "":
        raise ValidationError({field: _("This field is required.")})
    found = model._default_manager.filter(**{lookup: value}).first() if isinstance(value, str) else None
    if found is None:
        raise ValidationError(
            {field: _("Unknown %(model)s “%(value)s”.") % {"model": model._meta.verbose_name, "value": value}})
    return found


def _decimal(value, field: str):
    if value is None or value == "":
        return None
    # The shape of the number here (the ledger's one rule for decimals); its range and places are
    # the model's, checked by full_clean.
    try:
        return decimal_value(value, field, integers=True)
    except InvalidInput as exc:
        raise ValidationError({field: exc.message}) from None


def _date(value, field: str):
    if value is None or value == "":
        return None
    try:
        parsed = parse_date(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible, e.g. 2025-13-01
        parsed = None
    if parsed is None:
        raise ValidationError({field: _("Enter a date as YYYY-MM-DD.")})
    return parsed


def _int(value, field: str):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError({field: _("Enter a whole number.")})
    try:
        return int(value)
    except ValueError:
        raise ValidationError({field: _("Enter a whole number.")}) from None


def _bool(value, field: str) -> bool:
    # A JSON boolean and nothing else: 1, "yes" or null would each need a reading that every node shares.
    if not isinstance(value, bool):
        raise ValidationError({field: _("Must be true or false.")})
    return value


MULTILINE = {"notes"}


def _text(value, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: _("Enter text.")})
    try:
        return plain_text(value, field, multiline=field in MULTILINE)
    except InvalidInput as exc:
        raise ValidationError({field: exc.message}) from None


CONVERTERS = {
    "capacity_kw": _decimal, "latitude": _decimal, "longitude": _decimal, "rated_power_kw": _decimal,
    "max_power_kw": _decimal, "commissioned_on": _date, "certificate_expires_on": _date,
    "accuracy_class": _int, "connector_id": _int, "evse_id": _int, "evse_connector_id": _int,
    "public": _bool,
}


def _value(name: str, value):
    return CONVERTERS.get(name, _text)(value, name)


def _nested_error(field: str, index: int, exc: ValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        messages = [f"[{index}] {name}: {msg}" for name, msgs in exc.message_dict.items() for msg in msgs]
    else:
        messages = [f"[{index}] {msg}" for msg in exc.messages]
    return ValidationError({field: messages})


def _changes(payload, mutable: tuple[str, ...], related: dict) -> dict:
    changes = payload.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise ValidationError({"changes": _("Send the fields to change.")})
    data = {}
    for name, value in changes.items():
        if name in related:
            model, lookup = related[name]
            data[name] = _resolve(model, value, field=name, lookup=lookup)
        elif name in mutable:
            data[name] = _value(name, value)
        else:
            data[name] = value  # apply_changes refuses it by name
    return data


# --- authority -------------------------------------------------------------------------------------

def _owner_signs(ctx, institution: Institution, what) -> None:
    if ctx.signer_kind != NODE or ctx.signer_id != institution.code:
        ctx.reject(f"{ctx.signer_id} may not act for {institution.code}'s {what}")


def _device_id(obj) -> str:
    return f"pile:{obj.code}" if isinstance(obj, Pile) else f"box:{obj.serial}"


def _announce(ctx, kind: str, instance) -> None:
    ctx.on_commit(lambda: registry_changed.send(sender=type(instance), kind=kind, instance=instance, actor=None))


def _save(ctx, instance, *, exclude=()) -> None:
    instance.height = ctx.block_height
    instance.full_clean(exclude=list(exclude))
    ctx.save(instance)


# --- grid areas ------------------------------------------------------------------------------------

@register("registry.grid_area_create", roles={"grid"})
def grid_area_create(ctx, tx):
    """A grid company describes an area of its network."""
    p = _fields(tx.payload, ("owner", "code", "name", "capacity_kw"), ("feeder_name", "transformer_name"))
    area = GridArea(
        owner=_resolve(Institution, p["owner"], field="owner"), code=_text(p["code"], "code"),
        name=_text(p["name"], "name"), capacity_kw=_value("capacity_kw", p["capacity_kw"]),
        feeder_name=_text(p.get("feeder_name"), "feeder_name"),
        transformer_name=_text(p.get("transformer_name"), "transformer_name"),
    )
    area.full_clean()
    _owner_signs(ctx, area.owner, "grid area")
    _save(ctx, area)
    _announce(ctx, "created", area)


@register("registry.grid_area_update", roles={"grid"})
def grid_area_update(ctx, tx):
    p = _fields(tx.payload, ("code", "changes"))
    area = _resolve(GridArea, p["code"], field="code")
    _owner_signs(ctx, area.owner, "grid area")
    if apply_changes(area, _changes(p, GRID_AREA_MUTABLE, {}), mutable=GRID_AREA_MUTABLE):
        _save(ctx, area)
        _announce(ctx, "updated", area)


# --- stations --------------------------------------------------------------------------------------

@register("registry.station_create", roles={"operator"})
def station_create(ctx, tx):
    """An operator opens a charging station in a grid area."""
    p = _fields(
        tx.payload, ("operator", "code", "name", "address", "latitude", "longitude", "grid_area"),
        ("contact_name", "contact_phone", "notes"),
    )
    station = Station(
        operator=_resolve(Institution, p["operator"], field="operator"),
        grid_area=_resolve(GridArea, p["grid_area"], field="grid_area"),
        **{name: _value(name, p.get(name)) for name in (
            "code", "name", "address", "latitude", "longitude", "contact_name", "contact_phone", "notes")},
    )
    station.full_clean()
    _owner_signs(ctx, station.operator, "station")
    _save(ctx, station)
    _announce(ctx, "created", station)


@register("registry.station_update", roles={"operator"})
def station_update(ctx, tx):
    p = _fields(tx.payload, ("code", "changes"))
    station = _resolve(Station, p["code"], field="code")
    _owner_signs(ctx, station.operator, "station")
    data = _changes(p, STATION_MUTABLE, {"grid_area": (GridArea, "code"), "operator": (Institution, "code")})
    if apply_changes(station, data, mutable=STATION_MUTABLE):
        _save(ctx, station)
        _announce(ctx, "updated", station)


# --- piles and connectors --------------------------------------------------------------------------

PILE_FIELDS = (
    "accuracy_class", "commissioned_on", "status", "public", "vendor", "model_name", "serial_number",
    "firmware_version", "connectors", "keys",
)


@register("registry.pile_register", roles={"operator"})
def pile_register(ctx, tx):
    """A pile joins the consortium as a light node: with its connectors and public keys, all or nothing."""
    p = _fields(tx.payload, ("station", "code", "kind", "rated_power_kw"), PILE_FIELDS)
    station = _resolve(Station, p["station"], field="station")
    pile = Pile(station=station, code=_text(p["code"], "code"), kind=_text(p["kind"], "kind"),
                rated_power_kw=_value("rated_power_kw", p["rated_power_kw"]))
    for name in ("accuracy_class", "commissioned_on", "status", "vendor", "model_name", "serial_number",
                 "firmware_version"):
        if p.get(name) not in (None, ""):
            setattr(pile, name, _value(name, p[name]))
    if "public" in p:  # omitted: public, the model's default
        pile.public = _value("public", p["public"])
    pile.full_clean()
    _owner_signs(ctx, station.operator, "station")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("A new pile cannot be retired.")})
    _save(ctx, pile)
    connectors, keys = p.get("connectors") or [], p.get("keys") or []
    for field, items in (("connectors", connectors), ("keys", keys)):
        if not isinstance(items, list) or len(items) > MAX_NESTED:
            raise ValidationError({field: _("Send a list of at most %(n)d items.") % {"n": MAX_NESTED}})
    for index, item in enumerate(connectors):
        try:
            _add_connector(ctx, pile, item)
        except ValidationError as exc:
            raise _nested_error("connectors", index, exc) from exc
    for index, item in enumerate(keys):
        try:
            _add_key(ctx, pile, item)
        except ValidationError as exc:
            raise _nested_error("keys", index, exc) from exc
    _announce(ctx, "created", pile)


@register("registry.pile_update", roles={"operator"})
def pile_update(ctx, tx):
    p = _fields(tx.payload, ("code", "changes"))
    pile = _resolve(Pile, p["code"], field="code")
    _owner_signs(ctx, pile.station.operator, "pile")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("A retired pile cannot be changed.")})
    data = _changes(p, PILE_MUTABLE, {"station": (Station, "code")})
    if apply_changes(pile, data, mutable=PILE_MUTABLE):
        _save(ctx, pile)
        if pile.status == PileStatus.RETIRED:  # leaving: its keys go with it
            _revoke_all(ctx, pile, "device retired")
        _announce(ctx, "updated", pile)


@register("registry.pile_retire", roles={"operator"})
def pile_retire(ctx, tx):
    """A pile leaves: retired, and every key it had is revoked from this block on."""
    p = _fields(tx.payload, ("code",), ("reason",))
    pile = _resolve(Pile, p["code"], field="code")
    _owner_signs(ctx, pile.station.operator, "pile")
    if pile.status == PileStatus.RETIRED:
        raise ValidationError({"status": _("This pile is already retired.")})
    pile.status = PileStatus.RETIRED
    _save(ctx, pile)
    _revoke_all(ctx, pile, _text(p.get("reason"), "reason") or "device retired")
    _announce(ctx, "retired", pile)


@register("registry.connector_add", roles={"operator"})
def connector_add(ctx, tx):
    p = _fields(tx.payload, ("pile",), ("connector_id", "standard", "evse_id", "evse_connector_id", "max_power_kw"))
    pile = _resolve(Pile, p["pile"], field="pile")
    _owner_signs(ctx, pile.station.operator, "pile")
    _active(pile)
    connector = _add_connector(ctx, pile, {k: v for k, v in p.items() if k != "pile"})
    _announce(ctx, "created", connector)


def _add_connector(ctx, pile: Pile, item) -> Connector:
    item = _fields(item, ("connector_id", "standard"), ("evse_id", "evse_connector_id", "max_power_kw"))
    connector_id = _value("connector_id", item["connector_id"])
    evse_id = _value("evse_id", item.get("evse_id"))
    connector = Connector(
        pile=pile, connector_id=connector_id, evse_id=evse_id if evse_id is not None else connector_id,
        evse_connector_id=_value("evse_connector_id", item.get("evse_connector_id")) or 1,
        standard=_text(item["standard"], "standard"), max_power_kw=_value("max_power_kw", item.get("max_power_kw")),
    )
    if isinstance(connector_id, int):
        connector.uid = Connector.derive_uid(pile.code, connector_id)
    _save(ctx, connector)
    return connector


def _active(device) -> None:
    if device.status == (PileStatus.RETIRED if isinstance(device, Pile) else TestBoxStatus.RETIRED):
        raise ValidationError({"status": _("This device is retired.")})


# --- test boxes ------------------------------------------------------------------------------------

@register("registry.testbox_register", roles={"metrology"})
def testbox_register(ctx, tx):
    """A metrology institute brings a field test box (itself a verified instrument) into service."""
    p = _fields(tx.payload, ("owner", "serial", "model_name", "certificate_no", "certificate_expires_on"),
                ("manufacturer", "status", "keys"))
    box = FieldTestBox(
        owner=_resolve(Institution, p["owner"], field="owner"),
        **{name: _value(name, p.get(name)) for name in (
            "serial", "model_name", "certificate_no", "certificate_expires_on", "manufacturer")},
    )
    if p.get("status"):
        box.status = _text(p["status"], "status")
    box.full_clean()
    _owner_signs(ctx, box.owner, "test box")
    _save(ctx, box)
    keys = p.get("keys") or []
    if not isinstance(keys, list) or len(keys) > MAX_NESTED:
        raise ValidationError({"keys": _("Send a list of at most %(n)d items.") % {"n": MAX_NESTED}})
    for index, item in enumerate(keys):
        try:
            _add_key(ctx, box, item)
        except ValidationError as exc:
            raise _nested_error("keys", index, exc) from exc
    _announce(ctx, "created", box)


@register("registry.testbox_update", roles={"metrology"})
def testbox_update(ctx, tx):
    p = _fields(tx.payload, ("serial", "changes"))
    box = _resolve(FieldTestBox, p["serial"], field="serial", lookup="serial")
    _owner_signs(ctx, box.owner, "test box")
    _active(box)
    data = _changes(p, TESTBOX_MUTABLE, {})
    if apply_changes(box, data, mutable=TESTBOX_MUTABLE):
        _save(ctx, box)
        if box.status == TestBoxStatus.RETIRED:
            _revoke_all(ctx, box, "device retired")
        _announce(ctx, "updated", box)


@register("registry.testbox_retire", roles={"metrology"})
def testbox_retire(ctx, tx):
    p = _fields(tx.payload, ("serial",), ("reason",))
    box = _resolve(FieldTestBox, p["serial"], field="serial", lookup="serial")
    _owner_signs(ctx, box.owner, "test box")
    _active(box)
    box.status = TestBoxStatus.RETIRED
    _save(ctx, box)
    _revoke_all(ctx, box, _text(p.get("reason"), "reason") or "device retired")
    _announce(ctx, "retired", box)


# --- device keys -----------------------------------------------------------------------------------

def _key_device(payload):
    pile = payload.get("pile")
    box = payload.get("test_box")
    if (pile in (None, "")) == (box in (None, "")):
        raise ValidationError({"pile": _("Give exactly one of a pile or a test box.")})
    if pile not in (None, ""):
        return _resolve(Pile, pile, field="pile")
    return _resolve(FieldTestBox, box, field="test_box", lookup="serial")


def _owner_of(device) -> Institution:
    return device.station.operator if isinstance(device, Pile) else device.owner


def _add_key(ctx, device, item) -> DeviceKey:
    item = _fields(item, ("kind", "public_key_hex"), ("purpose", "label"))
    kind = _text(item["kind"], "kind")
    if kind not in crypto.KINDS:
        raise ValidationError({"kind": _("Key kind must be one of: %(kinds)s.") % {"kinds": ", ".join(crypto.KINDS)}})
    try:
        key = crypto.PublicKey.from_hex(kind, _text(item["public_key_hex"], "public_key_hex"))
    except crypto.InvalidKey as exc:
        raise ValidationError({"public_key": str(exc)}) from exc
    fingerprint = fingerprint_of(key.raw)
    if DeviceKey.objects.filter(fingerprint=fingerprint).exists():
        raise ValidationError({"public_key": _("This key is already registered.")})
    device_key = DeviceKey(
        pile=device if isinstance(device, Pile) else None,
        test_box=device if isinstance(device, FieldTestBox) else None,
        purpose=_text(item.get("purpose"), "purpose") or KeyPurpose.DEVICE, kind=key.kind,
        public_key_hex=key.hex, fingerprint=fingerprint, label=_text(item.get("label"), "label"),
        added_height=ctx.block_height,
    )
    device_key.full_clean(exclude=["height"])
    ctx.save(device_key)
    _forget(device)
    return device_key


def _forget(device) -> None:
    signers.forget_device(_device_id(device))


def _revoke(ctx, key: DeviceKey, reason: str) -> None:
    _forget(key.device)
    key.status = KeyStatus.REVOKED
    key.revoked_at = ctx.block_time
    key.revoked_height = ctx.block_height
    key.revoked_reason = reason[:200]
    ctx.save(key)


def _revoke_all(ctx, device, reason: str) -> None:
    for key in device.keys.filter(status=KeyStatus.ACTIVE).order_by("fingerprint"):
        _revoke(ctx, key, reason)


@register("registry.device_key_add", roles={"operator", "metrology"})
def device_key_add(ctx, tx):
    """The owner of a pile or test box registers one more public key for it."""
    p = _fields(tx.payload, ("kind", "public_key_hex"), ("pile", "test_box", "purpose", "label"))
    device = _key_device(p)
    _owner_signs(ctx, _owner_of(device), "device")
    _active(device)
    key = _add_key(ctx, device, {k: v for k, v in p.items() if k not in ("pile", "test_box")})
    _announce(ctx, "created", key)


@register("registry.device_key_revoke", roles={"operator", "metrology"})
def device_key_revoke(ctx, tx):
    """A key stops signing from this block on; what it signed before stays verifiable."""
    p = _fields(tx.payload, ("fingerprint",), ("reason",))
    key = _resolve(DeviceKey, p["fingerprint"], field="fingerprint", lookup="fingerprint")
    _owner_signs(ctx, _owner_of(key.device), "device")
    if key.status == KeyStatus.REVOKED:
        raise ValidationError({"status": _("This key is already revoked.")})
    _revoke(ctx, key, _text(p.get("reason"), "reason") or "revoked by its owner")
    _announce(ctx, "revoked", key)


@register("registry.device_key_rotate", signer_kinds=(NODE, DEVICE), roles={"operator", "metrology"})
def device_key_rotate(ctx, tx):
    """A new key replaces an old one in one step: by the device's owner, or by the device itself
    with the key it is replacing (proof that it holds it)."""
    p = _fields(tx.payload, ("fingerprint", "public_key_hex", "kind"), ("label",))
    old = _resolve(DeviceKey, p["fingerprint"], field="fingerprint", lookup="fingerprint")
    device = old.device
    if ctx.signer_kind == DEVICE:
        if ctx.signer_id != _device_id(device):
            ctx.reject(f"device {ctx.signer_id} may not rotate a key of {_device_id(device)}")
        signed_with = crypto.PublicKey.from_hex(tx.key_kind, old.public_key_hex) if old.kind == tx.key_kind else None
        if signed_with is None or not tx.verify(signed_with):
            ctx.reject("a device rotates a key by signing with that very key")
    else:
        _owner_signs(ctx, _owner_of(device), "device")
    if old.status == KeyStatus.REVOKED:
        raise ValidationError({"fingerprint": _("This key is already revoked.")})
    _active(device)
    _revoke(ctx, old, "rotated")
    new = _add_key(ctx, device, {"kind": p["kind"], "public_key_hex": p["public_key_hex"],
                                 "purpose": old.purpose, "label": p.get("label") or old.label})
    _announce(ctx, "rotated", new)


# --- what devices say about themselves -------------------------------------------------------------

@register("registry.firmware_attest", signer_kinds=(DEVICE,))
def firmware_attest(ctx, tx):
    """A pile states, with its own key, the firmware it runs; only for itself."""
    p = _fields(tx.payload, ("pile", "firmware_version", "image_sha256"))
    pile = _resolve(Pile, p["pile"], field="pile")
    if ctx.signer_id != _device_id(pile):
        ctx.reject(f"device {ctx.signer_id} may not report for {_device_id(pile)}")
    image = _text(p["image_sha256"], "image_sha256")
    if len(image) != 64 or any(c not in "0123456789abcdef" for c in image):
        raise ValidationError({"image_sha256": _("Give the image's SHA-256 as 64 lower-case hex characters.")})
    attestation = FirmwareAttestation(
        uid=ctx.derive_uuid("firmware"), pile=pile, firmware_version=_text(p["firmware_version"], "firmware_version"),
        image_sha256=image, reported_at=ctx.block_time, height=ctx.block_height, tx_id=tx.id,
    )
    # Field checks only: the pile was just resolved, the ids derive from this transaction's own.
    attestation.clean_fields(exclude=["pile"])
    ctx.save(attestation)
