"""How an area's curtailment is shared among its piles (pure; docs/intervals.md, "Curtailment").

Each admitted pile of the area may draw the area's limit times its rated power over the sum of the
rated powers of the area's admitted piles when the curtailment was applied (kept with it), in whole
watts (rounded down), so the piles of every operator together stay within the limit and each
operator's gateway computes its own piles' limits from the ledger alone, the same as every other node
would.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal


def pile_limits(limit_kw: Decimal, piles: dict[str, Decimal], total: Decimal | None = None) -> dict[str, int]:
    """{pile code: its limit in W} for piles {code: rated kW}; `total`: the rated power the limit is
    shared over (the sum of `piles` when None)."""
    total = sum(piles.values(), Decimal(0)) if total is None else Decimal(total)
    if total <= 0:
        return {code: 0 for code in piles}
    return {code: int(min(Decimal(limit_kw) * 1000 * rated / total, Decimal(limit_kw) * 1000)
                      .to_integral_value(ROUND_FLOOR)) for code, rated in sorted(piles.items())}
