"""Subsidy writes: publish a policy (regulator), claim (operator), decide (regulator).

Each checks the acting user's institution and role, validates against committed state, and submits
the transaction signed by the user's institution; the contract computes and checks again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from core.submit import submit
from registry.access import is_manager, member_institution
from registry.models import Pile
from registry.roles import InstitutionRole
from settlement.services.billing import require_period_over
from settlement.tariffs import TariffError, check_period
from subsidy.models import Claim, ClaimLine, LineStatus, Policy

POLICY_KEYS = ("per_kwh_cny", "construction_per_kw_cny", "min_availability", "cap_per_pile_year_cny",
               "cap_per_operator_year_cny")



def _acting(user, role: str):
    institution = member_institution(user)
    if institution is None or institution.role != role or not is_manager(user):
        raise PermissionDenied(_("Only a manager of a %(role)s may do this.") % {
            "role": InstitutionRole(role).label.lower()})
    return institution


def _period(value: str) -> str:
    try:
        return check_period(value)
    except TariffError as exc:
        raise ValidationError({"period": str(exc)}) from exc


def policy_publish(actor, *, valid_from: str, note: str = "", availability_formula: str = "", **rates) -> object:
    institution = _acting(actor, InstitutionRole.REGULATOR)
    payload = {"valid_from": _period(valid_from), "note": note or ""}
    if availability_formula:  # absent: the daily reports, as every version before the agreed intervals
        payload["availability_formula"] = availability_formula
    for key in POLICY_KEYS:
        try:
            payload[key] = format(Decimal(str(rates[key])), "f")
        except (KeyError, InvalidOperation):
            raise ValidationError({key: _("A decimal number is required.")}) from None
    latest = Policy.objects.order_by("-version").first()
    payload["version"] = (latest.version + 1) if latest else 1
    return submit(type="subsidy.policy_publish", payload=payload, actor=actor, institution=institution)


def claim_submit(actor, *, period: str, piles: list[str] | None = None):
    """Claim for every (or the named) piles of the actor's operator. The claim carries only the period
    and the piles: the contract computes everything from the ledger."""
    institution = _acting(actor, InstitutionRole.OPERATOR)
    period = _period(period)
    own = Pile.objects.filter(station__operator=institution).order_by("code")
    if piles:
        own = own.filter(code__in=piles)
        missing = sorted(set(piles) - set(own.values_list("code", flat=True)))
        if missing:
            raise ValidationError({"piles": _("Not piles of %(operator)s: %(piles)s.") % {
                "operator": institution.code, "piles": ", ".join(missing)}})
    codes = list(own.values_list("code", flat=True))
    if not codes:
        raise ValidationError({"piles": _("No piles to claim for.")})
    taken = (ClaimLine.objects.filter(period=period, pile__code__in=codes).exclude(status=LineStatus.REJECTED)
             .order_by("pile__code").values_list("pile__code", flat=True).first())
    if taken:
        raise ValidationError({"piles": _("A second claim for pile %(pile)s and period %(period)s.") % {
            "pile": taken, "period": period}})
    require_period_over(period)
    # No dry run: the contract reads the month's totals of every pile; running it twice would double
    # the cost. The checks above are the ones a user can fix; the contract repeats them and computes.
    return submit(type="subsidy.claim_submit", payload={"period": period, "piles": codes},
                       actor=actor, institution=institution, check=False)


def claim_decide(actor, *, claim: str, decision: str, piles: list[str] = (), reason: str = "",
                 payment_due_on: dt.date | None = None):
    institution = _acting(actor, InstitutionRole.REGULATOR)
    if not Claim.objects.filter(uid=claim).exists():
        raise ValidationError({"claim": _("No claim %(claim)s.") % {"claim": claim}})
    if decision not in ("approve", "reject"):
        raise ValidationError({"decision": _("Approve or reject.")})
    if decision == "reject" and not (reason or "").strip():
        raise ValidationError({"reason": _("A rejection needs a reason.")})
    if decision == "approve" and payment_due_on is None:
        raise ValidationError({"payment_due_on": _("An approval names the payment's due date.")})
    return submit(
        type="subsidy.claim_decide",
        payload={"claim": str(claim), "decision": decision, "piles": sorted(set(piles or [])), "reason": reason or "",
                 "payment_due_on": payment_due_on.isoformat() if payment_due_on else None},
        actor=actor, institution=institution,
    )
