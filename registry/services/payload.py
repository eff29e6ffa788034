"""Turning service arguments into transaction payloads: public ids for related rows, decimals and
dates as strings (the canonical encoding has no floats), nothing that is not JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _


def plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, models.Model):
        return value.public_id
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    raise ValidationError(_("A value of type %(type)s cannot be sent.") % {"type": type(value).__name__})


def _same(current, value) -> bool:
    if isinstance(current, models.Model):
        current = current.public_id
    if isinstance(value, models.Model):
        value = value.public_id
    if isinstance(current, Decimal) and value not in (None, ""):
        try:
            return current == Decimal(str(value))
        except ArithmeticError:
            return False
    return plain(current) == plain(value)


def changes_payload(obj, data: dict) -> dict:
    """Only the fields whose value differs (the contract refuses immutable ones by name); empty
    when nothing changes, and then the service sends nothing."""
    return {name: plain(value) for name, value in data.items() if not _same(getattr(obj, name, None), value)}
