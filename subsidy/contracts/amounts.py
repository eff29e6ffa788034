"""Subsidy amounts for one claim line. Pure: Decimal CNY, rounded half up to the cent once per amount."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from settlement.tariffs import cents, money

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineAmounts:
    operating: Decimal
    construction: Decimal
    amount: Decimal
    note: str


def line_amounts(*, energy_wh: int, per_kwh: Decimal, construction_kw: Decimal, per_kw: Decimal,
                 pile_cap_left: Decimal, operator_cap_left: Decimal) -> LineAmounts:
    """Operating = counted kWh x rate; construction = rated kW x rate (0 when not due); the sum is
    clipped to what is left of the pile's and the operator's caps for the year."""
    operating = money(energy_wh, per_kwh)
    construction = cents(construction_kw * per_kw)
    total = operating + construction
    notes = []
    if total > pile_cap_left:
        total, notes = max(pile_cap_left, ZERO), ["capped at the pile's yearly cap"]
    if total > operator_cap_left:
        total, notes = max(operator_cap_left, ZERO), ["capped at the operator's yearly cap"]
    return LineAmounts(operating, construction, cents(total), "; ".join(notes))
