"""Subsidy contracts: an operator claims; the regulator decides claims.

The claim names a period and piles, nothing more: every amount and exclusion is computed here from
ledger rows only (the settlement totals and held sessions, the availability reports monitoring
committed day by day, the registry and compliance); see subsidy.contracts.eligibility.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from calibration.contracts.compliance import ComplianceHistory
from calibration.models import ComplianceChange
from core import localtime
from ledger.contracts import NODE, register
from registry.models import Institution, Pile
from subsidy.contracts.amounts import ZERO, line_amounts
from subsidy.contracts.eligibility import offline_sessions, period_figures
from subsidy.contracts.policies import period_value, policy_for, text_value
from subsidy.models import (BELOW_AVAILABILITY, NOT_PUBLIC, Claim, ClaimExclusion, ClaimLine, ClaimStatus, ClaimStep,
                            LineStatus)

CLAIM_FIELDS = {"period", "piles"}
DECIDE_FIELDS = {"claim", "decision", "piles", "reason", "payment_due_on"}
MAX_PILES = 20000
AVAILABILITY_PLACES = Decimal("0.000001")


def _step(ctx, tx, claim, action, *, piles=(), reason="", amount=ZERO):
    ctx.save(ClaimStep(uid=ctx.derive_uuid("step", str(claim.uid)), claim=claim, action=action,
                       institution=ctx.signer_id, piles=list(piles), reason=reason, amount_cny=amount,
                       height=ctx.block_height, tx_id=tx.id))


# Money is added up here, in Decimal: SUM over a decimal column passes through floats on SQLite
# (2,000 lines of a year come to 4873307.40000002 there, 4873307.40 on PostgreSQL), and an operator
# whose cap is used up exactly would be capped on one node and not on another.


def _year_used(*, year: str, **filters) -> Decimal:
    amounts = (ClaimLine.objects.filter(period__startswith=year, **filters).exclude(status=LineStatus.REJECTED)
               .values_list("amount_cny", flat=True))
    return sum(amounts, ZERO)


def _year_used_by_pile(*, year: str, piles) -> dict[int, Decimal]:
    used: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pile_id, amount in (ClaimLine.objects.filter(period__startswith=year, pile_id__any_of=[pile.pk for pile in piles])
                            .exclude(status=LineStatus.REJECTED).values_list("pile_id", "amount_cny")):
        used[pile_id] += amount
    return dict(used)


@register("subsidy.claim_submit", signer_kinds=(NODE,), roles={"operator"})
def claim_submit(ctx, tx):
    """An operator claims for a period; every amount and exclusion is computed here, from the ledger."""
    p = tx.payload
    if set(p) != CLAIM_FIELDS:
        ctx.reject(f"a claim has exactly {', '.join(sorted(CLAIM_FIELDS))}")
    period = period_value(ctx, p["period"])
    tz = localtime.zone()
    _, period_end = localtime.period_bounds(period, tz)
    if ctx.block_time < period_end:
        ctx.reject(f"the period {period} is not over yet")
    policy = policy_for(period)
    if policy is None:
        ctx.reject(f"no subsidy policy is in force for {period}")
    codes = p["piles"]
    if not isinstance(codes, list) or not 0 < len(codes) <= MAX_PILES:
        ctx.reject(f"piles must list 1 to {MAX_PILES} pile codes")
    if not all(isinstance(code, str) for code in codes) or len(set(codes)) != len(codes):
        ctx.reject("piles must be distinct pile codes")
    piles = {pile.code: pile for pile in Pile.objects.filter(code__any_of=codes).select_related("station__operator")}
    for code in codes:
        pile = piles.get(code)
        if pile is None:
            ctx.reject(f"no pile {code}")
        if pile.station.operator.code != ctx.signer_id:
            ctx.reject(f"{ctx.signer_id} does not operate pile {code}")
    # The first in code point order, picked here: ORDER BY follows the database's collation.
    taken = min(ClaimLine.objects.filter(period=period, pile__code__any_of=codes).exclude(status=LineStatus.REJECTED)
                .values_list("pile__code", flat=True), default=None)
    if taken:
        ctx.reject(f"a second claim for pile {taken} and period {period}")

    operator = Institution.objects.get(code=ctx.signer_id)
    claim = Claim(uid=ctx.derive_uuid("claim"), operator=operator, period=period, policy=policy,
                  status=ClaimStatus.SUBMITTED, eligible_cny=ZERO, submitted_height=ctx.block_height,
                  height=ctx.block_height)
    ctx.save(claim)
    ordered = [piles[code] for code in sorted(codes)]
    figures = period_figures(ordered, period, policy.availability_formula)
    year = period[:4]
    operator_left = policy.cap_per_operator_year_cny - _year_used(year=year, claim__operator=operator)
    pile_used = _year_used_by_pile(year=year, piles=ordered)
    built = set(ClaimLine.objects.filter(pile_id__any_of=[pile.pk for pile in ordered], construction_cny__gt=0).exclude(status=LineStatus.REJECTED)
                .values_list("pile_id", flat=True))
    standing = compliance_at_end(ordered, at=period_end, height=ctx.block_height)
    last_day = localtime.local_day(period_end - dt.timedelta(microseconds=1))
    total = ZERO
    lines, exclusions = [], []
    for pile in ordered:
        f = figures[pile.pk]
        counted, sessions = f.counted_wh, f.sessions
        held = list(f.held)
        if not f.online:
            held = offline_sessions(pile, period)
            counted, sessions = 0, 0
        elif not pile.public:
            if counted:
                held.append(("", NOT_PUBLIC, counted))
            counted = 0
        elif f.availability is not None and f.availability < policy.min_availability and counted:
            held.append(("", BELOW_AVAILABILITY, counted))
            counted = 0
        construction_kw = Decimal(0)
        if (pile.commissioned_on and pile.commissioned_on <= last_day and standing.get(pile.pk) == "compliant"
                and pile.pk not in built):
            construction_kw = pile.rated_power_kw
        amounts = line_amounts(
            energy_wh=counted, per_kwh=policy.per_kwh_cny, construction_kw=construction_kw,
            per_kw=policy.construction_per_kw_cny,
            pile_cap_left=policy.cap_per_pile_year_cny - pile_used.get(pile.pk, ZERO),
            operator_cap_left=operator_left,
        )
        operator_left -= amounts.amount
        total += amounts.amount
        line = ClaimLine(
            uid=ctx.derive_uuid("line", pile.code), claim=claim, pile=pile, period=period, sessions=sessions,
            energy_wh=counted, excluded_wh=sum(wh for _, _, wh in held),
            availability=None if f.availability is None else f.availability.quantize(AVAILABILITY_PLACES),
            operating_cny=amounts.operating, construction_cny=amounts.construction, amount_cny=amounts.amount,
            note=amounts.note,
        )
        lines.append(line)
        exclusions += [(line, ClaimExclusion(uid=ctx.derive_uuid("exclusion", pile.code, session, reason),
                                             session=session, reason=reason, energy_wh=wh))
                       for session, reason, wh in held]
    ctx.bulk_insert(lines)
    # A bulk insert hands back no keys on SQLite before 3.35: the exclusions find their lines by uid.
    keys = dict(ClaimLine.objects.filter(claim=claim).values_list("uid", "pk"))
    for line, exclusion in exclusions:
        line.pk = keys[line.uid]
        exclusion.line = line
    ctx.bulk_insert([exclusion for _, exclusion in exclusions])
    claim.eligible_cny = total
    ctx.save(claim)
    _step(ctx, tx, claim, "submitted", piles=sorted(codes), amount=total)


def compliance_at_end(piles, *, at: dt.datetime, height: int) -> dict[int, str]:
    """Each pile's verification standing at the period's end, as the ledger knew it at `height`."""
    changes = defaultdict(list)
    for pile_id, since, status, due_on in (ComplianceChange.objects.filter(pile_id__any_of=[pile.pk for pile in piles], height__lte=height)
                                           .order_by("pile_id", *ComplianceChange.NEWEST_FIRST)
                                           .values_list("pile_id", "since", "status", "due_on")):
        changes[pile_id].append((since, status, due_on))
    return {pile.pk: ComplianceHistory.from_changes(changes.get(pile.pk, [])).status_at(at) for pile in piles}


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
    reason = text_value(ctx, p["reason"], "reason").strip()
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
    claim.approved_cny = sum(claim.lines.filter(status=LineStatus.APPROVED).values_list("amount_cny", flat=True), ZERO)
    if due is not None:
        claim.payment_due_on = due
    claim.height = ctx.block_height
    ctx.save(claim)
    _step(ctx, tx, claim, "approved" if p["decision"] == "approve" else "rejected", piles=codes, reason=reason,
          amount=amount)
