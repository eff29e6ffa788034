"""Subsidy contracts: the regulator publishes policies and decides claims; an operator claims.

The claim's amounts are computed here from ledger rows only (sessions, registry, compliance), with
the pure checks of settlement.checks; the availability figures an operator's node took from
monitoring travel in the payload, signed by the operator, and are kept on the claim line.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.db.models import Sum

from calibration.contracts_requests import china_day
from ledger.contracts import NODE, register
from registry.models import Institution, Pile
from settlement.assessment import ComplianceHistory, assess_pile_period, local_tz
from settlement.tariffs import TariffError, check_period, period_bounds
from subsidy.amounts import ZERO, line_amounts
from subsidy.models import Claim, ClaimExclusion, ClaimLine, ClaimStatus, ClaimStep, LineStatus, Policy

POLICY_FIELDS = {"version", "valid_from", "per_kwh_cny", "construction_per_kw_cny", "min_availability",
                 "cap_per_pile_year_cny", "cap_per_operator_year_cny", "note"}
CLAIM_FIELDS = {"period", "piles"}
DECIDE_FIELDS = {"claim", "decision", "piles", "reason", "payment_due_on"}
MAX_PILES = 20000
BELOW_AVAILABILITY = "availability_below_minimum"
TEXT = re.compile(r"^[^\x00-\x1f]{0,300}$")


def _decimal(ctx, value, name, *, places: int, high: Decimal) -> Decimal:
    if not isinstance(value, str):
        ctx.reject(f"{name} must be a decimal string")
    try:
        number = Decimal(value)
    except InvalidOperation:
        ctx.reject(f"{name} must be a decimal string")
    if not number.is_finite() or number < 0 or number > high or number != number.quantize(Decimal(1).scaleb(-places)):
        ctx.reject(f"{name} must be between 0 and {high} with at most {places} decimals")
    return number


def _period(ctx, value) -> str:
    try:
        return check_period(value)
    except TariffError as exc:
        ctx.reject(str(exc))


def _text(ctx, value, name) -> str:
    if not isinstance(value, str) or not TEXT.match(value):
        ctx.reject(f"{name} must be text of at most 300 characters")
    return value


def _step(ctx, tx, claim, action, *, piles=(), reason="", amount=ZERO):
    ctx.save(ClaimStep(uid=ctx.derive_uuid("step", str(claim.uid)), claim=claim, action=action,
                       institution=ctx.signer_id, piles=list(piles), reason=reason, amount_cny=amount,
                       height=ctx.block_height, tx_id=tx.id))


@register("subsidy.policy_publish", signer_kinds=(NODE,), roles={"regulator"})
def policy_publish(ctx, tx):
    """Publish the next version of the subsidy policy."""
    p = tx.payload
    if set(p) != POLICY_FIELDS:
        ctx.reject(f"a policy has exactly {', '.join(sorted(POLICY_FIELDS))}")
    latest = Policy.objects.order_by("-version").first()
    expected = (latest.version + 1) if latest else 1
    if p["version"] != expected:
        ctx.reject(f"the next policy version is {expected}")
    ctx.save(Policy(
        version=expected, valid_from=_period(ctx, p["valid_from"]),
        per_kwh_cny=_decimal(ctx, p["per_kwh_cny"], "per_kwh_cny", places=4, high=Decimal(100)),
        construction_per_kw_cny=_decimal(ctx, p["construction_per_kw_cny"], "construction_per_kw_cny", places=2,
                                         high=Decimal(100000)),
        min_availability=_decimal(ctx, p["min_availability"], "min_availability", places=6, high=Decimal(1)),
        cap_per_pile_year_cny=_decimal(ctx, p["cap_per_pile_year_cny"], "cap_per_pile_year_cny", places=2,
                                       high=Decimal(10**10)),
        cap_per_operator_year_cny=_decimal(ctx, p["cap_per_operator_year_cny"], "cap_per_operator_year_cny",
                                           places=2, high=Decimal(10**12)),
        note=_text(ctx, p["note"], "note")[:200], published_by=ctx.signer_id, height=ctx.block_height, tx_id=tx.id,
    ))


def policy_for(period: str) -> Policy | None:
    return Policy.objects.filter(valid_from__lte=period).order_by("-valid_from", "-version").first()


def _year_used(*, year: str, **filters) -> Decimal:
    total = (ClaimLine.objects.filter(period__startswith=year, **filters).exclude(status=LineStatus.REJECTED)
             .aggregate(s=Sum("amount_cny"))["s"])
    return total or ZERO


@register("subsidy.claim_submit", signer_kinds=(NODE,), roles={"operator"})
def claim_submit(ctx, tx):
    """An operator claims for a period; every amount and exclusion is computed here."""
    p = tx.payload
    if set(p) != CLAIM_FIELDS:
        ctx.reject(f"a claim has exactly {', '.join(sorted(CLAIM_FIELDS))}")
    period = _period(ctx, p["period"])
    tz = local_tz()
    period_start, period_end = period_bounds(period, tz)
    if ctx.block_time < period_end:
        ctx.reject(f"the period {period} is not over yet")
    policy = policy_for(period)
    if policy is None:
        ctx.reject(f"no subsidy policy is in force for {period}")
    entries = p["piles"]
    if not isinstance(entries, list) or not 0 < len(entries) <= MAX_PILES:
        ctx.reject(f"piles must list 1 to {MAX_PILES} piles")
    operator = Institution.objects.get(code=ctx.signer_id)
    seen = set()
    parsed = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"pile", "availability", "up_minutes"}:
            ctx.reject("each pile is {pile, availability, up_minutes}")
        code = entry["pile"]
        if not isinstance(code, str) or code in seen:
            ctx.reject("piles must be distinct pile codes")
        seen.add(code)
        availability = (None if entry["availability"] is None else
                        _decimal(ctx, entry["availability"], f"availability of {code}", places=6, high=Decimal(1)))
        up = _decimal(ctx, entry["up_minutes"], f"up_minutes of {code}", places=2, high=Decimal(10**7))
        parsed.append((code, availability, up))
    piles = {p.code: p for p in Pile.objects.filter(code__in=seen).select_related("station__operator")}
    for code, _, _ in parsed:
        pile = piles.get(code)
        if pile is None:
            ctx.reject(f"no pile {code}")
        if pile.station.operator.code != ctx.signer_id:
            ctx.reject(f"{ctx.signer_id} does not operate pile {code}")
    taken = (ClaimLine.objects.filter(period=period, pile__code__in=seen).exclude(status=LineStatus.REJECTED)
             .order_by("pile__code").values_list("pile__code", flat=True).first())
    if taken:
        ctx.reject(f"a second claim for pile {taken} and period {period}")

    claim = Claim(uid=ctx.derive_uuid("claim"), operator=operator, period=period, policy=policy,
                  status=ClaimStatus.SUBMITTED, eligible_cny=ZERO, submitted_height=ctx.block_height,
                  height=ctx.block_height)
    ctx.save(claim)
    year = period[:4]
    operator_left = policy.cap_per_operator_year_cny - _year_used(year=year, claim__operator=operator)
    last_day = china_day(period_end - dt.timedelta(microseconds=1))
    total = ZERO
    for code, availability, up in sorted(parsed):
        pile = piles[code]
        online = up > 0
        result = assess_pile_period(pile, period, height=ctx.block_height, online=online)
        counted = result.energy_wh
        exclusions = list(result.excluded)
        if online and availability is not None and availability < policy.min_availability and counted:
            exclusions.append(("", BELOW_AVAILABILITY, counted))
            counted = 0
        construction_kw = Decimal(0)
        if (pile.commissioned_on and pile.commissioned_on <= last_day
                and ComplianceHistory(pile, height=ctx.block_height).status_at(period_end) == "compliant"
                and not ClaimLine.objects.filter(pile=pile, construction_cny__gt=0)
                .exclude(status=LineStatus.REJECTED).exists()):
            construction_kw = pile.rated_power_kw
        amounts = line_amounts(
            energy_wh=counted, per_kwh=policy.per_kwh_cny, construction_kw=construction_kw,
            per_kw=policy.construction_per_kw_cny,
            pile_cap_left=policy.cap_per_pile_year_cny - _year_used(year=year, pile=pile),
            operator_cap_left=operator_left,
        )
        operator_left -= amounts.amount
        total += amounts.amount
        line = ClaimLine(
            uid=ctx.derive_uuid("line", code), claim=claim, pile=pile, period=period, sessions=result.sessions,
            energy_wh=counted, excluded_wh=sum(wh for _, _, wh in exclusions), availability=availability,
            operating_cny=amounts.operating, construction_cny=amounts.construction, amount_cny=amounts.amount,
            note=amounts.note,
        )
        ctx.save(line)
        for session, reason, wh in exclusions:
            ctx.save(ClaimExclusion(uid=ctx.derive_uuid("exclusion", code, session, reason), line=line,
                                    session=session, reason=reason, energy_wh=wh))
    claim.eligible_cny = total
    ctx.save(claim)
    _step(ctx, tx, claim, "submitted", piles=sorted(seen), amount=total)


@register("subsidy.claim_decide", signer_kinds=(NODE,), roles={"regulator"})
def claim_decide(ctx, tx):
    """The regulator approves or rejects a claim, whole or per pile, with a reason."""
    p = tx.payload
    if set(p) != DECIDE_FIELDS:
        ctx.reject(f"a decision has exactly {', '.join(sorted(DECIDE_FIELDS))}")
    claim = Claim.objects.filter(uid=p["claim"] if isinstance(p["claim"], str) else None).first()
    if claim is None:
        ctx.reject(f"no claim {p['claim']}")
    if p["decision"] not in ("approve", "reject"):
        ctx.reject("decision must be approve or reject")
    reason = _text(ctx, p["reason"], "reason").strip()
    if p["decision"] == "reject" and not reason:
        ctx.reject("a rejection needs a reason")
    pending = {line.pile.code: line for line in claim.lines.select_related("pile").filter(status=LineStatus.PENDING)}
    wanted = p["piles"]
    if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
        ctx.reject("piles must be a list of pile codes (empty: every pending pile)")
    codes = sorted(set(wanted)) if wanted else sorted(pending)
    if not codes:
        ctx.reject("nothing of this claim is left to decide")
    for code in codes:
        if code not in pending:
            ctx.reject(f"pile {code} has no pending line in this claim")
    due = None
    if p["decision"] == "approve":
        try:
            due = dt.date.fromisoformat(p["payment_due_on"]) if isinstance(p["payment_due_on"], str) else None
        except ValueError:
            due = None
        if due is None:
            ctx.reject("an approval names the payment's due date (YYYY-MM-DD)")
    elif p["payment_due_on"] not in (None, ""):
        ctx.reject("a rejection has no payment date")
    amount = ZERO
    for code in codes:
        line = pending[code]
        line.status = LineStatus.APPROVED if p["decision"] == "approve" else LineStatus.REJECTED
        line.reason = reason
        ctx.save(line)
        if line.status == LineStatus.APPROVED:
            amount += line.amount_cny
    statuses = set(claim.lines.values_list("status", flat=True))
    if LineStatus.PENDING in statuses:
        claim.status = ClaimStatus.PARTLY_APPROVED if LineStatus.APPROVED in statuses else ClaimStatus.SUBMITTED
    elif statuses == {LineStatus.APPROVED}:
        claim.status = ClaimStatus.APPROVED
    elif statuses == {LineStatus.REJECTED}:
        claim.status = ClaimStatus.REJECTED
    else:
        claim.status = ClaimStatus.PARTLY_APPROVED
    claim.approved_cny = (claim.lines.filter(status=LineStatus.APPROVED).aggregate(s=Sum("amount_cny"))["s"] or ZERO)
    if due is not None:
        claim.payment_due_on = due
    claim.height = ctx.block_height
    ctx.save(claim)
    _step(ctx, tx, claim, "approved" if p["decision"] == "approve" else "rejected", piles=codes, reason=reason,
          amount=amount)
