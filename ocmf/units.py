"""Exact energy arithmetic: OCMF reading values to integer milliwatt-hours, and mWh to Wh.

Why mWh and not Wh: meters commonly sign kWh with four decimals (the KEBA KCP30 sample reads
0.2596 kWh = 259.6 Wh), so whole Wh would refuse genuine records. One mWh (six kWh decimals, three
Wh decimals) is finer than any meter we know of; a value finer than that is refused, never rounded.
Turning mWh into Wh is the settlement's decision and always names its rounding (`to_wh`).
No float is ever involved: values arrive as `Decimal` straight from the JSON text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from .errors import InexactValue, MalformedRecord

# Power of ten that turns one unit into mWh. Only energy units convert; mOhm, uOhm and vendor units
# such as "sec" are kept as signed but have no energy value.
MWH_EXPONENT = {"kWh": 6, "Wh": 3}

# Bounds on what we build integers from: a hostile "1e999999999" or a thousand-digit RV must not
# make the gateway compute a huge power of ten. 10^30 mWh is far beyond any real register.
_MAX_DIGITS = 40
_MAX_MWH_DIGITS = 30

Rounding = Literal["exact", "floor", "half_even"]


def to_mwh(value: Decimal, unit: str) -> int | None:
    """Exact integer mWh for an energy unit, None for any other unit."""
    shift = MWH_EXPONENT.get(unit)
    if shift is None:
        return None
    if not value.is_finite():
        raise MalformedRecord(f"reading value {value} is not a finite number")
    sign, digits, exponent = value.as_tuple()
    if len(digits) > _MAX_DIGITS:
        raise MalformedRecord(f"reading value {value} has too many digits")
    mantissa = int("".join(map(str, digits)))
    if mantissa == 0:
        return 0
    # Trailing zeros after the point do not make a value inexact ("1.000000000" kWh is 1 kWh).
    while exponent < 0 and mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    exponent += shift
    if exponent < 0:
        raise InexactValue(f"{value} {unit} is not a whole number of mWh")
    if len(str(mantissa)) + exponent > _MAX_MWH_DIGITS:
        raise MalformedRecord(f"reading value {value} {unit} is out of range")
    result = mantissa * 10**exponent
    return -result if sign else result


def to_wh(mwh: int, rounding: Rounding = "exact") -> int:
    """Whole Wh from mWh. "exact" refuses a remainder; "floor" never bills unmeasured energy."""
    whole, rest = divmod(mwh, 1000)
    if rounding == "exact":
        if rest:
            raise InexactValue(f"{mwh} mWh is not a whole number of Wh")
        return whole
    if rounding == "floor":
        return whole
    if rounding == "half_even":
        if rest > 500 or (rest == 500 and whole % 2):
            return whole + 1
        return whole
    raise ValueError(f"unknown rounding {rounding!r}")
