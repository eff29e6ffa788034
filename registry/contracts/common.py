"""What every registry contract shares: reading a payload (public ids matched exactly, values in
the ledger's one shape), the owner's authority, saving a row at this block, and applying changes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from ledger.contracts import NODE, InvalidInput, decimal_value, plain_text
from registry.models import Institution, Pile, PileStatus, TestBoxStatus
from registry.signals import registry_changed

MAX_NESTED = 64


# --- payload reading -------------------------------------------------------------------------------

def payload_fields(payload, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(payload, dict):
        raise ValidationError(_("The payload must be an object."))
    unknown = sorted(set(payload) - set(required) - set(optional))
    missing = [name for name in required if payload.get(name) in (None, "")]
    errors = {name: [_("Unknown field.")] for name in unknown}
    errors.update({name: [_("This field is required.")] for name in missing})
    if errors:
        raise ValidationError(errors)
    return payload


def resolve_exact(model, value, *, field: str, lookup: str = "code"):
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


def _sealed(value, field: str):
    # A sealed section (checked by the contract against its readers) or null; never opened here.
    if value is None or isinstance(value, dict):
        return value
    raise ValidationError({field: _("Send a sealed section or null.")})


MULTILINE = {"notes"}


def text_value(value, field: str) -> str:
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
    "public": _bool, "private_sealed": _sealed,
}


def field_value(name: str, value):
    return CONVERTERS.get(name, text_value)(value, name)


def nested_error(field: str, index: int, exc: ValidationError) -> ValidationError:
    if hasattr(exc, "error_dict"):
        messages = [f"[{index}] {name}: {msg}" for name, msgs in exc.message_dict.items() for msg in msgs]
    else:
        messages = [f"[{index}] {msg}" for msg in exc.messages]
    return ValidationError({field: messages})


def changes_data(payload, mutable: tuple[str, ...], related: dict) -> dict:
    changes = payload.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise ValidationError({"changes": _("Send the fields to change.")})
    data = {}
    for name, value in changes.items():
        if name in related:
            model, lookup = related[name]
            data[name] = resolve_exact(model, value, field=name, lookup=lookup)
        elif name in mutable:
            data[name] = field_value(name, value)
        else:
            data[name] = value  # apply_changes refuses it by name
    return data


# --- authority -------------------------------------------------------------------------------------

def owner_signs(ctx, institution: Institution, what) -> None:
    if ctx.signer_kind != NODE or ctx.signer_id != institution.code:
        ctx.reject(f"{ctx.signer_id} may not act for {institution.code}'s {what}")


def device_id(obj) -> str:
    return f"pile:{obj.code}" if isinstance(obj, Pile) else f"box:{obj.serial}"


def announce(ctx, kind: str, instance) -> None:
    ctx.on_commit(lambda: registry_changed.send(sender=type(instance), kind=kind, instance=instance, actor=None))


def save_row(ctx, instance, *, exclude=()) -> None:
    instance.height = ctx.block_height
    instance.full_clean(exclude=list(exclude))
    ctx.save(instance)


def require_active(device) -> None:
    if device.status == (PileStatus.RETIRED if isinstance(device, Pile) else TestBoxStatus.RETIRED):
        raise ValidationError({"status": _("This device is retired.")})


# --- changes -----------------------------------------------------------------------------------------

def apply_changes(obj, data: dict, *, mutable: tuple[str, ...]) -> list[str]:
    """Sets the changed fields of `obj` from `data`; fields outside `mutable` may only repeat their value."""
    errors = {}
    changed = []
    for name, value in data.items():
        field = obj._meta.get_field(name) if name in {f.name for f in obj._meta.get_fields()} else None
        if field is None:
            errors[name] = [_("Unknown field.")]
            continue
        current = getattr(obj, name)
        if getattr(field, "is_relation", False) and value is not None and not isinstance(value, field.related_model):
            errors[name] = [_("Expected a %(model)s.") % {"model": field.related_model._meta.verbose_name}]
            continue
        if current == value:
            continue
        if name not in mutable:
            errors[name] = [_("This field cannot be changed.")]
            continue
        setattr(obj, name, value)
        changed.append(name)
    if errors:
        raise ValidationError(errors)
    return changed
