"""Settlement's contracts for money: tariffs, service fees, sealed terms, area meters, closing a period,
confirming, disputing and correcting statements.

Closing reads EnergyTotal rows (a few per pile), written session by session by `totals.record_session`.
The money under confidential terms is never computed here: each party's node computes it and signs
the statement hash (settlement.statements); the contract compares the two hashes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import Decimal

from core import localtime
from ledger import definition
from ledger.contracts import NODE, plain_text, register
from registry.models import GridArea, Institution, Pile
from settlement.models import (
    AreaMeterReading, EnergyTotal, SealedTerms, ServiceFee, Statement, StatementItem, StatementStatus, StatementStep,
    Tariff,
)
from settlement.tariffs import (
    CENT, TariffError, build_tariff, check_period, money, parse_price, tariff_on,
)
from settlement.terms import readers_match

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _date(ctx, value, name) -> dt.date:
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    ctx.reject(f"{name} must be a date YYYY-MM-DD")


def _period(ctx, value) -> str:
    try:
        return check_period(value)
    except TariffError as exc:
        ctx.reject(str(exc))


def _area_of_grid(ctx, code) -> GridArea:
    area = GridArea.objects.select_related("owner").filter(code=code if isinstance(code, str) else None).first()
    if area is None:
        ctx.reject(f"no grid area {code}")
    if area.owner.code != ctx.signer_id:
        ctx.reject(f"{ctx.signer_id} does not own grid area {area.code}")
    return area


def _reason(ctx, value) -> str:
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 300:
        ctx.reject("a reason of 1 to 300 characters is required")
    return plain_text(value.strip(), "reason")


def _step(ctx, tx, statement, action, detail=""):
    ctx.save(StatementStep(uid=ctx.derive_uuid("step", str(statement.uid)), statement=statement, action=action,
                           institution=ctx.signer_id, detail=detail[:500], height=ctx.block_height, tx_id=tx.id))


@register("settlement.tariff_publish", signer_kinds=(NODE,), roles={"grid"})
def tariff_publish(ctx, tx):
    """The grid institution publishes time-of-use prices for one of its areas."""
    p = tx.payload
    if set(p) != {"area", "valid_from", "windows", "prices"}:
        ctx.reject("a tariff is exactly area, valid_from, windows, prices")
    area = _area_of_grid(ctx, p["area"])
    valid_from = _date(ctx, p["valid_from"], "valid_from")
    try:
        build_tariff(valid_from=valid_from, windows=p["windows"], prices=p["prices"])
    except TariffError as exc:
        ctx.reject(str(exc))
    if Tariff.objects.filter(area=area, valid_from=valid_from).exists():
        ctx.reject(f"area {area.code} already has a tariff from {valid_from}")
    ctx.save(Tariff(uid=ctx.derive_uuid("tariff"), area=area, valid_from=valid_from, windows=p["windows"],
                    prices=p["prices"], published_by=ctx.signer_id, height=ctx.block_height, tx_id=tx.id))


@register("settlement.service_fee_publish", signer_kinds=(NODE,), roles={"operator"})
def service_fee_publish(ctx, tx):
    """The operator publishes its service fee per kWh from a date."""
    p = tx.payload
    if set(p) != {"valid_from", "per_kwh"}:
        ctx.reject("a service fee is exactly valid_from, per_kwh")
    try:
        price = parse_price(p["per_kwh"])
    except TariffError as exc:
        ctx.reject(str(exc))
    ctx.save(ServiceFee(uid=ctx.derive_uuid("fee"), operator=Institution.objects.get(code=ctx.signer_id),
                        valid_from=_date(ctx, p["valid_from"], "valid_from"), per_kwh=price,
                        height=ctx.block_height, tx_id=tx.id))


def _parties(ctx, area_code, operator_code) -> tuple[GridArea, Institution]:
    area = GridArea.objects.select_related("owner").filter(code=area_code if isinstance(area_code, str) else None).first()
    if area is None:
        ctx.reject(f"no grid area {area_code}")
    operator = Institution.objects.filter(code=operator_code if isinstance(operator_code, str) else None).first()
    if operator is None or definition.stored().role_of(operator.code) != "operator":
        ctx.reject(f"{operator_code} is not an operator")
    if ctx.signer_id not in (area.owner.code, operator.code):
        ctx.reject(f"{ctx.signer_id} is not a party to terms between {operator.code} and {area.owner.code}")
    return area, operator


def regulators() -> list[str]:
    """The consortium's regulators, by code point (never a database collation)."""
    return sorted(m.code for m in definition.stored().members if m.role == "regulator")


@register("settlement.terms_publish", signer_kinds=(NODE,), roles={"operator", "grid"})
def terms_publish(ctx, tx):
    """Either party records the sealed confidential terms for an area from a date (never opened here)."""
    p = tx.payload
    if set(p) != {"area", "operator", "valid_from", "sealed"}:
        ctx.reject("terms are exactly area, operator, valid_from, sealed")
    area, operator = _parties(ctx, p["area"], p["operator"])
    problem = readers_match(p["sealed"], [operator.code, area.owner.code, *regulators()])
    if problem:
        ctx.reject(problem)
    ctx.save(SealedTerms(uid=ctx.derive_uuid("terms"), area=area, operator=operator,
                         valid_from=_date(ctx, p["valid_from"], "valid_from"), sealed=p["sealed"],
                         commitment=p["sealed"]["commitment"], published_by=ctx.signer_id, height=ctx.block_height,
                         tx_index=ctx.index))


@register("settlement.area_meter_report", signer_kinds=(NODE,), roles={"grid"})
def area_meter_report(ctx, tx):
    """The grid institution's area meter for a period (compared with the sum of the piles)."""
    p = tx.payload
    if set(p) != {"area", "period", "energy_wh"}:
        ctx.reject("an area reading is exactly area, period, energy_wh")
    area = _area_of_grid(ctx, p["area"])
    period = _period(ctx, p["period"])
    wh = p["energy_wh"]
    if not isinstance(wh, int) or isinstance(wh, bool) or not 0 <= wh <= 10**15:
        ctx.reject("energy_wh must be a whole number of Wh")
    if AreaMeterReading.objects.filter(area=area, period=period).exists():
        ctx.reject(f"area {area.code} already has a reading for {period}")
    ctx.save(AreaMeterReading(area=area, period=period, energy_wh=wh, reported_by=ctx.signer_id,
                              height=ctx.block_height))


def build_statement(ctx, *, area, operator, period, uid_part: str, corrects=None, reason="") -> Statement:
    """A statement from the totals of the operator's piles in the area for the period."""
    tz = localtime.zone()
    _, end = localtime.period_bounds(period, tz)
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    tariff_rows = Tariff.objects.filter(area=area, valid_from__lte=last_day).order_by("valid_from", "height")
    tariffs = [build_tariff(valid_from=t.valid_from, windows=t.windows, prices=t.prices) for t in tariff_rows]
    tariff = tariff_on(tariffs, last_day)
    terms = (SealedTerms.objects.filter(area=area, operator=operator, valid_from__lte=last_day)
             .order_by(*SealedTerms.LATEST_FIRST).first())
    meter = AreaMeterReading.objects.filter(area=area, period=period).first()
    statement = Statement(
        uid=ctx.derive_uuid("statement", area.code, operator.code, uid_part), area=area, operator=operator,
        grid=area.owner, period=period, status=StatementStatus.OPEN, terms=terms,
        terms_commitment=terms.commitment if terms else "", energy_wh=0, excluded_wh=0,
        tariff_amount_cny=Decimal("0.00"), area_meter_wh=meter.energy_wh if meter else None, corrects=corrects,
        correction_reason=reason, height=ctx.block_height, changed_height=ctx.block_height,
    )
    ctx.save(statement)
    counted: dict = defaultdict(int)
    held: dict = defaultdict(dict)
    rows = (EnergyTotal.objects.filter(period=period, pile__station__grid_area=area, pile__station__operator=operator)
            .order_by("pile_id", "band", "reason").values_list("pile_id", "band", "reason", "energy_wh"))
    for pile_id, band, reason, wh in rows.iterator(chunk_size=5000):
        if reason:
            held[(pile_id, band)][reason] = held[(pile_id, band)].get(reason, 0) + wh
            statement.excluded_wh += wh
        else:
            counted[(pile_id, band)] += wh
            statement.energy_wh += wh
    keys = set(counted) | set(held)
    piles = {pile.pk: pile for pile in Pile.objects.filter(pk__any_of=sorted({pile_id for pile_id, _ in keys}))}
    total = Decimal("0.00")
    items = []
    for pile_id, band in sorted(keys, key=lambda key: (piles[key[0]].code, key[1])):
        code = piles[pile_id].code
        price = tariff.prices.get(band, Decimal(0)) if tariff else Decimal(0)
        amount = money(counted.get((pile_id, band), 0), price)
        total += amount
        items.append(StatementItem(uid=ctx.derive_uuid("item", str(statement.uid), code, band), statement=statement,
                                   pile=piles[pile_id], band=band, energy_wh=counted.get((pile_id, band), 0),
                                   excluded=dict(sorted(held.get((pile_id, band), {}).items())),
                                   tariff_price=price.quantize(Decimal("0.00001")), tariff_amount_cny=amount))
    ctx.bulk_insert(items)
    statement.tariff_amount_cny = total.quantize(CENT)
    ctx.save(statement)
    return statement


@register("settlement.period_close", signer_kinds=(NODE,), roles={"grid", "operator"})
def period_close(ctx, tx):
    """Close a period for an area: one statement per operator with piles there, from the totals."""
    p = tx.payload
    if set(p) != {"area", "period"}:
        ctx.reject("closing names exactly area and period")
    area = GridArea.objects.select_related("owner").filter(code=p["area"] if isinstance(p["area"], str) else None).first()
    if area is None:
        ctx.reject(f"no grid area {p['area']}")
    period = _period(ctx, p["period"])
    if ctx.block_time < localtime.period_bounds(period)[1]:
        ctx.reject(f"the period {period} is not over yet")
    # Statements are written in this order, so it is code point order, sorted here: ORDER BY follows
    # the database's collation ("OP_B" before "OPA" under en_US, after it under C).
    operators = sorted(Institution.objects.filter(
        code__in=Pile.objects.filter(station__grid_area=area).values("station__operator__code")),
        key=lambda institution: institution.code)
    if ctx.signer_role == "operator":
        if ctx.signer_id not in [o.code for o in operators]:
            ctx.reject(f"{ctx.signer_id} has no piles in area {area.code}")
        operators = [o for o in operators if o.code == ctx.signer_id]
    elif area.owner.code != ctx.signer_id:
        ctx.reject(f"{ctx.signer_id} does not own grid area {area.code}")
    made = 0
    for operator in operators:
        if Statement.objects.filter(area=area, operator=operator, period=period, corrects=None).exists():
            continue
        statement = build_statement(ctx, area=area, operator=operator, period=period, uid_part=period)
        _step(ctx, tx, statement, "closed")
        made += 1
    if not made:
        ctx.reject(f"area {area.code} is already closed for {period}")


def _statement_for_party(ctx, uid) -> Statement:
    statement = Statement.objects.select_related("operator", "grid", "area").filter(
        uid=uid if isinstance(uid, str) else None).first()
    if statement is None:
        ctx.reject(f"no statement {uid}")
    if ctx.signer_id not in (statement.operator.code, statement.grid.code):
        ctx.reject(f"{ctx.signer_id} is not a party to this statement")
    return statement


@register("settlement.statement_confirm", signer_kinds=(NODE,), roles={"grid", "operator"})
def statement_confirm(ctx, tx):
    """A party signs the statement hash its node computed; equal hashes from both confirm it."""
    p = tx.payload
    if set(p) != {"statement", "hash"}:
        ctx.reject("a confirmation is exactly statement and hash")
    statement = _statement_for_party(ctx, p["statement"])
    if statement.status not in (StatementStatus.OPEN,):
        ctx.reject(f"the statement is {statement.status}")
    if not isinstance(p["hash"], str) or not HEX64.match(p["hash"]):
        ctx.reject("hash must be 64 lower-case hex characters")
    if ctx.signer_id == statement.operator.code:
        statement.operator_hash = p["hash"]
    else:
        statement.grid_hash = p["hash"]
    detail = ""
    if statement.operator_hash and statement.grid_hash:
        if statement.operator_hash == statement.grid_hash:
            statement.status = StatementStatus.CONFIRMED
        else:
            detail = "the parties' hashes differ"
    statement.changed_height = ctx.block_height
    ctx.save(statement)
    _step(ctx, tx, statement, "confirmed", detail or p["hash"])


@register("settlement.statement_dispute", signer_kinds=(NODE,), roles={"grid", "operator"})
def statement_dispute(ctx, tx):
    """A party disputes items of a statement, each with a reason."""
    p = tx.payload
    if set(p) != {"statement", "items"}:
        ctx.reject("a dispute is exactly statement and items")
    statement = _statement_for_party(ctx, p["statement"])
    if statement.status in (StatementStatus.CONFIRMED, StatementStatus.CORRECTED):
        ctx.reject(f"the statement is {statement.status}")
    items = p["items"]
    if not isinstance(items, list) or not 0 < len(items) <= 1000:
        ctx.reject("items must list 1 to 1000 disputed items")
    by_key = {(i.pile.code, i.band): i for i in statement.items.select_related("pile")}
    for entry in items:
        if not isinstance(entry, dict) or set(entry) != {"pile", "band", "reason"}:
            ctx.reject("each disputed item is {pile, band, reason}")
        item = by_key.get((entry["pile"], entry["band"]))
        if item is None:
            ctx.reject(f"the statement has no item {entry['pile']} {entry['band']}")
        item.disputed = f"{ctx.signer_id}: {_reason(ctx, entry['reason'])}"[:300]
        ctx.save(item)
    statement.status = StatementStatus.DISPUTED
    statement.changed_height = ctx.block_height
    ctx.save(statement)
    _step(ctx, tx, statement, "disputed", "; ".join(f"{e['pile']} {e['band']}: {e['reason']}" for e in items))


@register("settlement.statement_correct", signer_kinds=(NODE,), roles={"grid", "operator"})
def statement_correct(ctx, tx):
    """A party issues a correction: a new statement from the current totals, referencing the original."""
    p = tx.payload
    if set(p) != {"statement", "reason"}:
        ctx.reject("a correction is exactly statement and reason")
    original = _statement_for_party(ctx, p["statement"])
    if original.status == StatementStatus.CORRECTED:
        ctx.reject("the statement was already corrected")
    reason = _reason(ctx, p["reason"])
    original.status = StatementStatus.CORRECTED
    original.changed_height = ctx.block_height
    ctx.save(original)
    _step(ctx, tx, original, "corrected", reason)
    fresh = build_statement(ctx, area=original.area, operator=original.operator, period=original.period,
                            uid_part=f"correction/{original.uid}", corrects=original, reason=reason)
    _step(ctx, tx, fresh, "closed", f"corrects {original.uid}")
