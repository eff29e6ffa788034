"""Rows that the ledger owns: how each is named and what of it counts as state.

A model the ledger owns lists its state fields in `LEDGER_FIELDS` and has a `public_id` that is the
same on every node. Its state entry is the canonical encoding of (model label, public id, field
values); related rows appear by their public ids, decimals and dates as strings, so every node
encodes the same row to the same bytes. The entries feed the state root (per block, the write set)
and the audit digest (all rows, MuHash).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from contextvars import ContextVar
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.base import ModelState

from ledger.chain.encoding import _check
from ledger.payload import MAX_DECIMAL_DIGITS, InvalidInput
from ledger.state.muhash import MuHash

_owned: dict[str, type[models.Model]] = {}
# During a replay (ledger.execution.replay_all): (model label, public id) -> the primary key the row
# had before, so that rows come back under their keys and node-local rows pointing at them stay attached.
replay_keys: ContextVar[dict | None] = ContextVar("pilechain_replay_keys", default=None)


def kept_key(instance: models.Model):
    """The primary key a replay gives back to this new row (None outside a replay, or for a new row)."""
    keep = replay_keys.get()
    return None if keep is None else keep.get((instance._meta.label_lower, str(instance.public_id)))


def register(model: type[models.Model]) -> type[models.Model]:
    """Class decorator for models whose rows only contracts may write."""
    if not getattr(model, "LEDGER_FIELDS", None):
        raise TypeError(f"{model.__name__} must declare LEDGER_FIELDS")
    _owned[model._meta.label_lower] = model
    return model


def owned_models() -> list[type[models.Model]]:
    return [_owned[label] for label in sorted(_owned)]


def is_owned(model) -> bool:
    return model._meta.label_lower in _owned


def _value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, models.Model):
        return value.public_id
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in ledger state")
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _value(value.value)
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} has no ledger encoding")


def _field_value(instance: models.Model, name: str):
    """The value as the database gives it back: a contract's freshly assigned "7" or Decimal("7")
    and the stored Decimal("7.0") must encode alike, or the audit would disagree with the chain."""
    value = getattr(instance, name)
    try:
        field = instance._meta.get_field(name)
    except FieldDoesNotExist:  # a property listed as state
        return value
    if field.is_relation or value is None:
        return value
    value = field.to_python(value)
    if isinstance(field, models.DecimalField) and isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


def new_row(model: type[models.Model], **values) -> models.Model:
    """An unsaved instance with these field values (by field name, attname or "pk"; related objects by
    field name), every other field at its default: what `model(**values)` gives, without
    Model.__init__, which costs more than the rest of opening a session. Only for ledger-owned rows,
    which have no pre_init/post_init receivers."""
    plan = _NEW_ROW_PLANS.get(model)
    if plan is None:
        plan = _NEW_ROW_PLANS[model] = [(f.name, f.attname, f.is_relation, f) for f in model._meta.concrete_fields]
    if "pk" in values:
        values[model._meta.pk.attname] = values.pop("pk")
    row = model.__new__(model)
    row._state = ModelState()
    attrs = row.__dict__
    used = 0
    for name, attname, relation, field in plan:
        if relation and name in values:
            related = values[name]
            attrs[attname] = None if related is None else related.pk
            if related is not None:
                row._state.fields_cache[name] = related
            used += 1
        elif attname in values:
            attrs[attname] = values[attname]
            used += 1
        else:
            attrs[attname] = field.get_default()
    if used != len(values):
        known = {n for n, _, _, _ in plan} | {a for _, a, _, _ in plan}
        raise TypeError(f"{model.__name__} has no field {sorted(set(values) - known)}")
    return row


_NEW_ROW_PLANS: dict[type, list] = {}


def stored_rows(queryset, *, related: dict[str, dict] | None = None) -> list[models.Model]:
    """The queryset's rows as stored instances, read with values_list and built as `new_row` builds
    them (no Model.__init__ per row: a contract that reads thousands of rows spends more there than on
    the query). `related`: per foreign key name, {key: the related object} to attach without a query."""
    model = queryset.model
    attnames = [field.attname for field in model._meta.concrete_fields]
    links = [(name, model._meta.get_field(name).attname, objects) for name, objects in (related or {}).items()]
    rows = []
    db = queryset.db
    new, new_state = model.__new__, ModelState.__new__
    for values in queryset.values_list(*attnames):
        row = new(model)
        state = new_state(ModelState)
        cache = {}
        # What ModelState() then setting adding and db gives (fields_cache is made on first use).
        state.__dict__.update(db=db, adding=False, fields_cache=cache)
        attrs = row.__dict__
        attrs["_state"] = state
        attrs.update(zip(attnames, values))
        for name, attname, objects in links:
            key = attrs[attname]
            if key is not None:
                cache[name] = objects[key]
        rows.append(row)
    return rows


def check_storable(instance: models.Model) -> None:
    """Refuse (InvalidInput, before the row is written) a value that not every node's database holds
    as it is: PostgreSQL refuses the row, SQLite keeps it, so the nodes would part. That is
    - a decimal with more whole digits than its column has, or more significant digits than SQLite's
      64-bit float keeps (MAX_DECIMAL_DIGITS);
    - text longer than its column's max_length (SQLite does not enforce lengths), or holding U+0000
      (PostgreSQL stores it in no text column);
    - an integer outside its column's range (SQLite's integers are all 64-bit)."""
    decimals, texts, integers = _storable_fields(type(instance))
    label = instance._meta.label_lower
    for field in decimals:
        value = getattr(instance, field.attname)
        if value is None:
            continue
        if not isinstance(value, Decimal):
            value = field.to_python(value)  # what is not a number is the field's ValidationError
        whole = field.max_digits - field.decimal_places
        refused = not value.is_finite() or (not value.is_zero() and value.adjusted() >= whole)
        if not refused:
            coefficient = str(abs(int(value.scaleb(field.decimal_places).to_integral_value())))
            refused = len(coefficient.rstrip("0")) > MAX_DECIMAL_DIGITS
        if refused:
            raise InvalidInput(
                f"{label}.{field.name}", "too_many_digits",
                f"must have at most {min(field.max_digits, MAX_DECIMAL_DIGITS)} digits ({whole} before the point), "
                f"as every node's database holds them exactly")
    for field in texts:
        value = getattr(instance, field.attname)
        if not isinstance(value, str):
            continue
        if field.max_length and len(value) > field.max_length:
            raise InvalidInput(f"{label}.{field.name}", "too_long",
                               f"must be at most {field.max_length} characters long")
        if "\x00" in value:
            raise InvalidInput(f"{label}.{field.name}", "control_character", "must not contain U+0000")
    for field, low, high in integers:
        value = getattr(instance, field.attname)
        if isinstance(value, int) and not low <= value <= high:
            raise InvalidInput(f"{label}.{field.name}", "out_of_range", f"must be from {low} to {high}")


# Integer columns as PostgreSQL holds them (the narrowest of the backends), by Django field type.
_INTEGER_RANGES = {
    "SmallIntegerField": (-(2**15), 2**15 - 1), "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-(2**31), 2**31 - 1), "PositiveIntegerField": (0, 2**31 - 1),
    "BigIntegerField": (-(2**63), 2**63 - 1), "PositiveBigIntegerField": (0, 2**63 - 1),
}
_STORABLE: dict[type, tuple] = {}


def _storable_fields(model) -> tuple:
    found = _STORABLE.get(model)
    if found is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and not f.is_relation]
        found = _STORABLE[model] = (
            tuple(f for f in fields if isinstance(f, models.DecimalField)),
            tuple(f for f in fields if isinstance(f, (models.CharField, models.TextField))),
            tuple((f, *_INTEGER_RANGES[f.get_internal_type()]) for f in fields
                  if f.get_internal_type() in _INTEGER_RANGES),
        )
    return found


def state_of(instance: models.Model) -> dict:
    return {name: encode(instance) for name, encode in _encoders(type(instance))}


def entry_bytes(instance: models.Model) -> bytes:
    """The canonical encoding of the row's state entry: exactly what `canonical` gives for
    {"k": public id, "m": model label, "s": state_of(instance)} (keys sorted, no spaces, UTF-8), built
    by a function compiled once per model, since every applied transaction encodes a few rows."""
    model = type(instance)
    write = _ENTRY_WRITERS.get(model)
    if write is None:
        write = _ENTRY_WRITERS[model] = _compile_entry_writer(model)
    return write(instance).encode("utf-8")


# The settings of `ledger.chain.encoding.canonical`, in one encoder made once.
_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ENTRY_WRITERS: dict[type, object] = {}


def _compile_entry_writer(model):
    """Straight-line code for one model's entry. Each field's fragment takes the common case (a value
    already of the field's type) at once and hands anything else to the field's encoder below, so
    the text is the same as `_JSON.encode` of the state dict (the tests compare them row by row)."""
    names = sorted(model.LEDGER_FIELDS)
    encoders = dict(_encoders(model))
    lines = ["def write(i):"]
    parts = [repr('{"k":'), "_s(str(i.public_id))", repr(f',"m":{_JSON.encode(model._meta.label_lower)},"s":{{')]
    for n, name in enumerate(names):
        value = f"v{n}"
        generic = f"_j(E[{name!r}](i))"
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if isinstance(field, models.ForeignKey):
            # The related row as loaded with this one (fields_cache, where the descriptor looks first).
            lines.append(f"    {value} = i._state.fields_cache.get({name!r})")
            lines.append(f"    {value} = {value}.public_id if {value} is not None else None")
            fragment = f"(_s({value}) if {value}.__class__ is str else {generic})"
        elif field is None or field.is_relation or isinstance(field, (models.DecimalField, models.JSONField)):
            fragment = generic
        else:
            lines.append(f"    {value} = i.{field.attname}")
            if isinstance(field, models.BooleanField):
                fragment = (f'("true" if {value} is True else "false" if {value} is False else "null" '
                            f'if {value} is None else {generic})')
            elif isinstance(field, (models.IntegerField, models.AutoField)):
                fragment = f'(str({value}) if {value}.__class__ is int else "null" if {value} is None else {generic})'
            elif isinstance(field, models.DateTimeField):
                fragment = (f'(_s({value}.astimezone(_UTC).isoformat()) if {value}.__class__ is _datetime and '
                            f'{value}.tzinfo is not None else "null" if {value} is None else {generic})')
            elif isinstance(field, models.DateField):
                fragment = f'(_s({value}.isoformat()) if {value}.__class__ is _date else "null" if {value} is None else {generic})'
            elif isinstance(field, models.UUIDField):
                fragment = f'(_s(str({value})) if {value}.__class__ is _UUID else "null" if {value} is None else {generic})'
            elif isinstance(field, models.CharField):
                fragment = f'(_s({value}) if {value}.__class__ is str else "null" if {value} is None else {generic})'
            else:
                fragment = generic
        parts.append(repr(("," if n else "") + _JSON.encode(name) + ":"))
        parts.append(fragment)
    parts.append(repr("}}"))
    lines.append("    return \"\".join((" + ", ".join(parts) + "))")
    namespace = {"_s": json.encoder.encode_basestring, "_j": _JSON.encode, "E": encoders, "_UTC": dt.timezone.utc,
                 "_datetime": dt.datetime, "_date": dt.date, "_UUID": uuid.UUID}
    exec("\n".join(lines), namespace)  # noqa: S102 - code built above from field names, not from data
    return namespace["write"]


# Per model, one encoder per state field: the generic path of `_value(_field_value(...))`, with the
# common cases (a value already of the field's type) taken without a round trip through to_python.
_ENCODERS: dict[type, list] = {}


def _encoders(model) -> list:
    encoders = _ENCODERS.get(model)
    if encoders is None:
        encoders = _ENCODERS[model] = [(name, _encoder(model, name)) for name in model.LEDGER_FIELDS]
    return encoders


def _encoder(model, name: str):
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a property listed as state
        return lambda instance: _value(getattr(instance, name))
    if field.is_relation:
        def related(instance):
            row = getattr(instance, name)
            return None if row is None else row.public_id
        return related
    attname = field.attname

    def generic(instance):
        return _value(_field_value(instance, name))

    if isinstance(field, models.DecimalField):
        quantum = Decimal(1).scaleb(-field.decimal_places)

        def decimal(instance):
            value = getattr(instance, attname)
            if value is None:
                return None
            if not isinstance(value, Decimal):
                value = field.to_python(value)
            return format(value.quantize(quantum), "f")
        return decimal
    if isinstance(field, models.DateTimeField):
        def moment(instance):
            value = getattr(instance, attname)
            if isinstance(value, dt.datetime):
                if value.tzinfo is None:
                    raise ValueError("naive datetime in ledger state")
                return value.astimezone(dt.timezone.utc).isoformat()
            return generic(instance)
        return moment
    if isinstance(field, models.BooleanField):
        def boolean(instance):
            value = getattr(instance, attname)
            return value if value is None or isinstance(value, bool) else generic(instance)
        return boolean
    if isinstance(field, (models.IntegerField, models.AutoField)):
        def integer(instance):
            value = getattr(instance, attname)
            if value is None or (isinstance(value, int) and not isinstance(value, bool)):
                return value
            return generic(instance)
        return integer
    if isinstance(field, models.CharField):
        def text(instance):
            value = getattr(instance, attname)
            return value if value is None or isinstance(value, str) else generic(instance)
        return text
    if isinstance(field, models.JSONField):
        def document(instance):
            value = _value(getattr(instance, attname))
            _check(value, name)  # no floats, valid text: what `canonical` refuses
            return value
        return document
    return generic


def tables_digest() -> MuHash:
    """The MuHash of every ledger-owned row, recomputed from the tables themselves."""
    digest = MuHash()
    for model in owned_models():
        related = [f.name for f in model._meta.concrete_fields if f.is_relation and f.name in model.LEDGER_FIELDS]
        for row in model._base_manager.select_related(*related).iterator(chunk_size=2000):
            digest.add(entry_bytes(row))
    return digest
