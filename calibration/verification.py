"""The pure core of a verification: judge a verified box record plus the staff's observations against
the limits data, and work out the next due date. No Django, no I/O: the web form's preview, the
service and the ledger contract all call the same functions, so they cannot disagree."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from calibration.fieldbox.acceptance import measurement_date
from calibration.limits.conclusion import Conclusion, evaluate, readings_from_record
from calibration.limits.table import LimitSet, limits_for_pile_kind

KINDS = ("first", "subsequent")
OBSERVATION_KEYS = {"visual_checks", "insulation_mohm", "time_of_use"}
_MOHM = re.compile(r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,3})?$")
MAX_INSULATION_MOHM = Decimal("100000")


class ObservationError(ValueError):
    """The staff's observations are malformed (an unknown check, insulation not a number in MΩ)."""


@dataclass(frozen=True)
class Judgement:
    conclusion: Conclusion
    limits: LimitSet
    measured_on: date
    next_due_on: date

    @property
    def overall(self) -> str:
        return self.conclusion.overall


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day where it is shorter (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def clean_observations(observations, limits: LimitSet) -> dict:
    """Observations in their one canonical shape: {"visual_checks": {check: bool}, "insulation_mohm":
    "12.5" (string, MΩ) or None, "time_of_use": bool}. Raises ObservationError with a message to show."""
    if not isinstance(observations, dict):
        raise ObservationError("observations must be an object")
    unknown = set(observations) - OBSERVATION_KEYS
    if unknown:
        raise ObservationError(f"unknown observation {', '.join(sorted(unknown))}")
    known_checks = limits.lookup("visual_functional", accuracy_class=1, verification="first").checks
    checks = observations.get("visual_checks") or {}
    if not isinstance(checks, dict):
        raise ObservationError("visual_checks must map each check to true or false")
    bad = sorted(set(checks) - set(known_checks))
    if bad:
        raise ObservationError(f"unknown visual check {', '.join(bad)}")
    if any(not isinstance(v, bool) for v in checks.values()):
        raise ObservationError("each visual check is true or false")
    insulation = observations.get("insulation_mohm")
    if insulation is not None:
        if not isinstance(insulation, str) or not _MOHM.match(insulation):
            raise ObservationError("insulation resistance is a decimal number of MΩ with at most 3 decimals, "
                                   "written as a string (e.g. \"25.0\")")
        try:
            if Decimal(insulation) > MAX_INSULATION_MOHM:
                raise ObservationError(f"insulation resistance above {MAX_INSULATION_MOHM} MΩ is not a reading")
        except InvalidOperation:  # pragma: no cover - the pattern already excludes it
            raise ObservationError("insulation resistance is not a number") from None
    time_of_use = observations.get("time_of_use", True)
    if not isinstance(time_of_use, bool):
        raise ObservationError("time_of_use is true or false")
    return {"visual_checks": {k: checks[k] for k in sorted(checks)}, "insulation_mohm": insulation,
            "time_of_use": time_of_use}


def judge(record: dict, observations: dict, *, pile_kind: str, accuracy_class: int, kind: str) -> Judgement:
    """Each item's verdict and the overall one, for a record already accepted (accept_record)."""
    if kind not in KINDS:
        raise ObservationError("verification must be first or subsequent")
    limits = limits_for_pile_kind(pile_kind)
    clean = clean_observations(observations, limits)
    readings = readings_from_record(record, visual_checks=clean["visual_checks"] or None,
                                    insulation_mohm=clean["insulation_mohm"], time_of_use=clean["time_of_use"])
    conclusion = evaluate(readings, limits=limits, accuracy_class=accuracy_class, verification=kind)
    measured_on = measurement_date(record)
    return Judgement(conclusion, limits, measured_on, add_months(measured_on, limits.interval_months))
