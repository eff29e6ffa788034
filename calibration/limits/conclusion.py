"""Each item's error from the readings, its verdict against the limits, and the overall conclusion.

Pure functions over Decimal and integers: nothing here is typed by a person except observations
(yes/no checks, the insulation reading), and nothing depends on the clock, so every node computes the
same conclusion. Rule of judgement, as in JJG verification regulations: an error exactly at the limit
passes (|error| <= limit; for a minimum, value >= limit). Errors are first rounded to the limit's
resolution, half to even, and the rounded value is judged and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from calibration.limits.table import Limit, LimitSet

PASS, FAIL, INCOMPLETE, NOT_APPLICABLE = "pass", "fail", "incomplete", "not_applicable"
MWH_PER_KWH = 1_000_000
MS_PER_S = 1_000


def _exact(value, name: str) -> Decimal:
    # Floats would make the same reading round differently on different machines.
    if isinstance(value, (float, bool)) or not isinstance(value, (int, str, Decimal)):
        raise TypeError(f"{name} must be an int, a Decimal or a decimal string, not {type(value).__name__}")
    return Decimal(value)


def _round(value: Decimal, resolution: Decimal | None) -> Decimal:
    return value if resolution is None else value.quantize(resolution, rounding=ROUND_HALF_EVEN)


def relative_error_percent(standard, measured, resolution: Decimal | None = None) -> Decimal:
    """(measured - standard) / standard * 100, the form of the working and the indication error."""
    standard, measured = _exact(standard, "standard"), _exact(measured, "measured")
    if standard <= 0:
        raise ValueError("the standard energy must be positive")
    with localcontext() as ctx:
        ctx.prec = 50
        return _round((measured - standard) * 100 / standard, resolution)


def working_error_percent(standard_mwh, indicated_mwh, resolution=None) -> Decimal:
    return relative_error_percent(standard_mwh, indicated_mwh, resolution)


def indication_error_percent(standard_mwh, displayed_mwh, resolution=None) -> Decimal:
    return relative_error_percent(standard_mwh, displayed_mwh, resolution)


def billing_error_cny(billed_cny, energy_mwh, tariff_cny_per_kwh, resolution=None) -> Decimal:
    """billed - energy x tariff, in CNY, with the energy in kWh."""
    billed, energy, tariff = _exact(billed_cny, "billed"), _exact(energy_mwh, "energy"), _exact(tariff_cny_per_kwh, "tariff")
    with localcontext() as ctx:
        ctx.prec = 50
        return _round(billed - energy * tariff / MWH_PER_KWH, resolution)


def clock_error_seconds(pile_ms, reference_ms, resolution=None) -> Decimal:
    """The pile's clock minus the reference clock, in seconds."""
    with localcontext() as ctx:
        ctx.prec = 50
        return _round((_exact(pile_ms, "pile clock") - _exact(reference_ms, "reference clock")) / MS_PER_S, resolution)


def within(value: Decimal, limit: Limit) -> bool:
    if limit.comparison == "abs_max":
        return abs(value) <= limit.limit
    if limit.comparison == "min":
        return value >= limit.limit
    raise ValueError(f"{limit.item}: {limit.comparison} is not a numeric comparison")


@dataclass(frozen=True)
class Readings:
    load_points: list[tuple[int, int]]                  # (standard mWh, indicated mWh) per load point
    indication: tuple[int, int] | None                  # (standard mWh, displayed mWh) over the session
    billing: tuple[str, int, str] | None                # (billed CNY, energy mWh, tariff CNY/kWh)
    clock: tuple[int, int] | None                       # (pile ms, reference ms)
    visual_checks: dict[str, bool] | None = None        # observation per check of the limits data
    insulation_mohm: str | Decimal | None = None
    time_of_use: bool = True


def readings_from_record(record: dict, *, visual_checks=None, insulation_mohm=None, time_of_use=True) -> Readings:
    """Readings from a test box record (validate or verify it first) plus the staff's observations."""
    return Readings(
        load_points=[(p["standard_energy_mwh"], p["indicated_energy_mwh"]) for p in record["load_points"]],
        indication=(record["indication"]["standard_energy_mwh"], record["indication"]["displayed_energy_mwh"]),
        billing=(record["billing"]["billed_cny"], record["billing"]["energy_mwh"],
                 record["billing"]["tariff_cny_per_kwh"]),
        clock=(record["clock"]["pile_ms"], record["clock"]["reference_ms"]),
        visual_checks=visual_checks, insulation_mohm=insulation_mohm, time_of_use=time_of_use,
    )


@dataclass(frozen=True)
class ItemResult:
    item: str
    status: str
    value: Decimal | None = None          # the judged value: the worst error for several load points
    limit: Limit | None = None
    details: tuple = ()                   # per load point errors, or the failed checks
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "item": self.item, "status": self.status,
            "value": None if self.value is None else str(self.value),
            "limit": None if self.limit is None or self.limit.limit is None else str(self.limit.limit),
            "unit": None if self.limit is None else self.limit.unit,
            "limit_source": None if self.limit is None else self.limit.source,
            "details": [str(d) if isinstance(d, Decimal) else d for d in self.details],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Conclusion:
    overall: str
    items: tuple[ItemResult, ...]
    regulation: str
    data_revision: int
    accuracy_class: int
    verification: str

    def item(self, name: str) -> ItemResult:
        return next(i for i in self.items if i.item == name)

    def to_dict(self) -> dict:
        """Decimals as strings: fit for canonical encoding and the ledger."""
        return {"overall": self.overall, "regulation": self.regulation, "data_revision": self.data_revision,
                "accuracy_class": self.accuracy_class, "verification": self.verification,
                "items": [i.to_dict() for i in self.items]}


def _judged(item: str, value: Decimal, limit: Limit, details=()) -> ItemResult:
    return ItemResult(item, PASS if within(value, limit) else FAIL, value, limit, tuple(details))


def _visual(readings: Readings, limit: Limit) -> ItemResult:
    checks = readings.visual_checks
    if not checks:
        return ItemResult("visual_functional", INCOMPLETE, limit=limit, reason="no observations")
    unknown = sorted(set(checks) - set(limit.checks))
    if unknown:
        raise ValueError(f"visual_functional: unknown check {', '.join(unknown)}")
    if any(not isinstance(v, bool) for v in checks.values()):
        raise TypeError("visual_functional: each observation is True or False")
    failed = tuple(name for name in limit.checks if checks.get(name) is False)
    if failed:
        return ItemResult("visual_functional", FAIL, limit=limit, details=failed)
    missing = [name for name in limit.checks if name not in checks]
    if missing:
        return ItemResult("visual_functional", INCOMPLETE, limit=limit, reason="not observed: " + ", ".join(missing))
    return ItemResult("visual_functional", PASS, limit=limit)


def _working(readings: Readings, limit: Limit, least: Limit) -> ItemResult:
    errors = [working_error_percent(s, i, limit.resolution) for s, i in readings.load_points]
    if not errors:
        return ItemResult("working_error", INCOMPLETE, limit=limit, reason="no load points")
    worst = max(errors, key=abs)
    result = _judged("working_error", worst, limit, errors)
    if result.status == PASS and not within(Decimal(len(errors)), least):
        return ItemResult("working_error", INCOMPLETE, worst, limit, tuple(errors),
                          reason=f"{len(errors)} load points; at least {least.limit} are required")
    return result


def evaluate(readings: Readings, *, limits: LimitSet, accuracy_class: int, verification: str) -> Conclusion:
    """Every item of `limits` judged; overall pass only if every required item passes."""
    def lim(item):
        return limits.lookup(item, accuracy_class=accuracy_class, verification=verification)

    items = [_visual(readings, lim("visual_functional"))]
    if readings.insulation_mohm is None:
        items.append(ItemResult("insulation_resistance", INCOMPLETE, limit=lim("insulation_resistance"),
                                reason="no reading"))
    else:
        limit = lim("insulation_resistance")
        value = _round(_exact(readings.insulation_mohm, "insulation"), limit.resolution)
        items.append(_judged("insulation_resistance", value, limit))
    items.append(_working(readings, lim("working_error"), lim("working_error_load_points")))
    if readings.indication is None:
        items.append(ItemResult("indication_error", INCOMPLETE, limit=lim("indication_error"), reason="no reading"))
    else:
        limit = lim("indication_error")
        items.append(_judged("indication_error", indication_error_percent(*readings.indication, limit.resolution), limit))
    if readings.billing is None:
        items.append(ItemResult("billing_error", INCOMPLETE, limit=lim("billing_error"), reason="no reading"))
    else:
        limit = lim("billing_error")
        items.append(_judged("billing_error", billing_error_cny(*readings.billing, limit.resolution), limit))
    limit = lim("clock_error")
    if limit.applies_to == "time_of_use" and not readings.time_of_use:
        items.append(ItemResult("clock_error", NOT_APPLICABLE, limit=limit, reason="the pile has no time-of-use tariff"))
    elif readings.clock is None:
        items.append(ItemResult("clock_error", INCOMPLETE, limit=limit, reason="no reading"))
    else:
        items.append(_judged("clock_error", clock_error_seconds(*readings.clock, limit.resolution), limit))

    required = [i for i in items if i.status != NOT_APPLICABLE]
    if all(i.status == PASS for i in required):
        overall = PASS
    elif any(i.status == FAIL for i in required):
        overall = FAIL
    else:
        overall = INCOMPLETE
    return Conclusion(overall, tuple(items), limits.regulation, limits.data_revision, accuracy_class, verification)
