"""What every registry service does before it submits: resolve references, check authority, validate.
The submission itself goes through core.submit, as every app's does."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from registry import access


def resolve(model, value, *, field: str, lookup: str = "code", required: bool = True):
    """An instance from an instance or its natural key; an unknown key is a ValidationError on `field`."""
    if value is None or value == "":
        if required:
            raise ValidationError({field: _("This field is required.")})
        return None
    if isinstance(value, model):
        return value
    try:
        # Exact first (an index lookup, and how ids are nearly always written), then any case.
        found = model._default_manager.filter(**{lookup: str(value)}).first()
        return found if found is not None else model._default_manager.get(**{f"{lookup}__iexact": str(value)})
    except model.DoesNotExist:
        raise ValidationError(
            {field: _("Unknown %(model)s “%(value)s”.") % {"model": model._meta.verbose_name, "value": value}}
        ) from None


def require_add(actor, model) -> None:
    if not access.may_add_kind(actor, model):
        raise PermissionDenied(_("You may not create %(model)s entries.") % {"model": model._meta.verbose_name_plural})


def require(actor, action: str, obj) -> None:
    if not access.can(actor, action, obj):
        raise PermissionDenied(_("You may not change %(obj)s.") % {"obj": obj})


def locked(obj):
    """A fresh copy of `obj` locked for this transaction: updates never start from a stale instance."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


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

