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
