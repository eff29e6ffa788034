"""OCPP measurands and units: normalise every value to one base unit per quantity (pure)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# unit as sent -> (base unit, factor)
UNITS = {
    "Wh": ("Wh", Decimal(1)), "kWh": ("Wh", Decimal(1000)),
    "varh": ("varh", Decimal(1)), "kvarh": ("varh", Decimal(1000)),
    "W": ("W", Decimal(1)), "kW": ("W", Decimal(1000)),
    "VA": ("VA", Decimal(1)), "kVA": ("VA", Decimal(1000)),
    "var": ("var", Decimal(1)), "kvar": ("var", Decimal(1000)),
    "A": ("A", Decimal(1)), "V": ("V", Decimal(1)),
    "Celsius": ("Celsius", Decimal(1)), "Celcius": ("Celsius", Decimal(1)),  # 1.6 spells it "Celcius"
    "K": ("K", Decimal(1)), "Fahrenheit": ("Fahrenheit", Decimal(1)),
    "Percent": ("Percent", Decimal(1)), "%": ("Percent", Decimal(1)),
    "Hz": ("Hz", Decimal(1)), "Hertz": ("Hz", Decimal(1)),
    "VAh": ("VAh", Decimal(1)), "kVAh": ("VAh", Decimal(1000)),
}

# measurand prefix -> the base units it may carry (OCPP 1.6 section 7.31 / 2.0.1 MeasurandEnumType)
MEASURAND_UNITS = {
    "Energy.Active.": {"Wh"}, "Energy.Reactive.": {"varh"}, "Energy.Apparent.": {"VAh"},
    "Power.Active.": {"W"}, "Power.Reactive.": {"var"}, "Power.Offered": {"W"}, "Power.Factor": {"Percent", ""},
    "Current.": {"A"}, "Voltage": {"V"}, "Frequency": {"Hz", ""}, "Temperature": {"Celsius", "K", "Fahrenheit"},
    "SoC": {"Percent"}, "RPM": {""}, "Power.Apparent": {"VA"},
}
DEFAULT_UNIT = {"Energy.Active.": "Wh", "Energy.Reactive.": "varh", "Power.Active.": "W", "Power.Reactive.": "var",
                "Power.Offered": "W", "Current.": "A", "Voltage": "V", "SoC": "Percent", "Temperature": "Celsius"}

ENERGY_REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
VOLTAGE = "Voltage"
CURRENT = "Current.Import"


class UnitError(ValueError):
    pass


def _family(measurand: str) -> str | None:
    for prefix in MEASURAND_UNITS:
        if measurand.startswith(prefix):
            return prefix
    return None


def normalise(measurand: str, value, unit: str | None) -> tuple[Decimal, str]:
    """(value in the base unit, base unit); UnitError for an unknown measurand or unit, or a unit
    that does not fit the measurand (a power given in Wh)."""
    if not isinstance(measurand, str) or not measurand:
        raise UnitError("measurand missing")
    family = _family(measurand)
    if family is None:
        raise UnitError(f"unknown measurand {measurand!r}")
    if unit in (None, ""):
        unit = DEFAULT_UNIT.get(family, "")
    if unit == "":
        base, factor = "", Decimal(1)
    elif unit in UNITS:
        base, factor = UNITS[unit]
    else:
        raise UnitError(f"unknown unit {unit!r} for {measurand}")
    if base not in MEASURAND_UNITS[family]:
        raise UnitError(f"unit {unit!r} does not fit {measurand}")
    if isinstance(value, float) or isinstance(value, bool):
        raise UnitError("values are decimals (or decimal strings), not floats")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise UnitError(f"value {value!r} is not a number") from None
    if not number.is_finite():
        raise UnitError(f"value {value!r} is not finite")
    number = number * factor
    if abs(number) >= Decimal(10) ** 18:
        raise UnitError(f"value {value!r} is out of range")
    return number.quantize(Decimal("0.000001")), base
