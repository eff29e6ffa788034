"""Subsidy contract: the regulator publishes the next version of the subsidy policy; the input checks
the claim contracts share."""

from __future__ import annotations

from decimal import Decimal

from ledger.contracts import NODE, decimal_value, plain_text, register
from settlement.tariffs import TariffError, check_period
from subsidy.models import AvailabilityFormula, Policy

POLICY_FIELDS = {"version", "valid_from", "per_kwh_cny", "construction_per_kw_cny", "min_availability",
                 "cap_per_pile_year_cny", "cap_per_operator_year_cny", "note"}


def _decimal(ctx, value, name, *, places: int, high: Decimal) -> Decimal:
    return decimal_value(value, name, low=Decimal(0), high=high, places=places)


def period_value(ctx, value) -> str:
    try:
        return check_period(value)
    except TariffError as exc:
        ctx.reject(str(exc))


def text_value(ctx, value, name) -> str:
    if not isinstance(value, str) or len(value) > 300:
        ctx.reject(f"{name} must be text of at most 300 characters")
    return plain_text(value, name)


@register("subsidy.policy_publish", signer_kinds=(NODE,), roles={"regulator"})
def policy_publish(ctx, tx):
    """Publish the next version of the subsidy policy."""
    p = tx.payload
    if set(p) not in (POLICY_FIELDS, POLICY_FIELDS | {"availability_formula"}):
        ctx.reject(f"a policy has exactly {', '.join(sorted(POLICY_FIELDS))} (and availability_formula)")
    formula = p.get("availability_formula", AvailabilityFormula.DAILY_REPORTS)
    if formula not in AvailabilityFormula.values:
        ctx.reject(f"availability_formula must be one of {', '.join(AvailabilityFormula.values)}")
    latest = Policy.objects.order_by("-version").first()
    expected = (latest.version + 1) if latest else 1
    if p["version"] != expected:
        ctx.reject(f"the next policy version is {expected}")
    ctx.save(Policy(
        version=expected, valid_from=period_value(ctx, p["valid_from"]),
        per_kwh_cny=_decimal(ctx, p["per_kwh_cny"], "per_kwh_cny", places=4, high=Decimal(100)),
        construction_per_kw_cny=_decimal(ctx, p["construction_per_kw_cny"], "construction_per_kw_cny", places=2,
                                         high=Decimal(100000)),
        min_availability=_decimal(ctx, p["min_availability"], "min_availability", places=6, high=Decimal(1)),
        availability_formula=formula,
        cap_per_pile_year_cny=_decimal(ctx, p["cap_per_pile_year_cny"], "cap_per_pile_year_cny", places=2,
                                       high=Decimal(10**10)),
        cap_per_operator_year_cny=_decimal(ctx, p["cap_per_operator_year_cny"], "cap_per_operator_year_cny",
                                           places=2, high=Decimal(10**12)),
        note=text_value(ctx, p["note"], "note")[:200], published_by=ctx.signer_id, height=ctx.block_height, tx_id=tx.id,
    ))


def policy_for(period: str) -> Policy | None:
    return Policy.objects.filter(valid_from__lte=period).order_by("-valid_from", "-version").first()
