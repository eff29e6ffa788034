"""Small helpers for the monitoring tests."""

import datetime as dt
from decimal import Decimal

from ledger.models import Submission

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


def at(minutes=0, seconds=0):
    return T0 + dt.timedelta(minutes=minutes, seconds=seconds)


def sample(minutes, measurand, value, unit, seconds=0, **extra):
    return {"timestamp": at(minutes, seconds), "measurand": measurand, "value": Decimal(value),
            "unit": unit, "phase": extra.get("phase"), "context": extra.get("context")}


def submissions(type_):
    return Submission.objects.filter(type=type_).order_by("pk")
