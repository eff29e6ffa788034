"""Totals, closing, sealed terms, confirmation, disputes and corrections over the simulated month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ledger.chain import sealed
from ledger.models import CommittedTx, NodeState
from ledger.services import node_submit
from settlement.services import billing
from settlement.models import ChargingSession, EnergyTotal, Statement
from settlement.statements import Terms, compute, statement_hash
from tests.conftest import INSTITUTIONS
from tests.settlement.month import Month, local
from tests.settlement.test_tariffs import PRICES, WINDOWS
from tests.utils.ledger import commit_pending, member_keys

pytestmark = pytest.mark.django_db

TERMS = Terms.from_plain({"prices": {"peak": "0.95000"}, "discount_percent": "2.5",
                          "bank": {"iban": "CN00 0000 0000 0001", "holder": "Operator A"}})


def x25519_of(code: str) -> bytes:
    return member_keys(list(INSTITUTIONS).index(code))[1].private


@pytest.fixture
def month(world):
    billing.tariff_publish(world.users["grid_manager"], area="AREA-1", valid_from=dt.date(2030, 1, 1),
                           windows=WINDOWS, prices=PRICES)
    billing.terms_publish(world.users["a_manager"], area="AREA-1", operator="OP-A", valid_from=dt.date(2030, 1, 1),
                          terms=TERMS)
    commit_pending(at=local(2030, 1, 2))
    m = Month(world)
    m.prepare()
    m.sessions = m.play()
    return m


def totals(pile="PILE-A1"):
    return {(t.period, t.band, t.reason): (t.energy_wh, t.sessions)
            for t in EnergyTotal.objects.filter(pile__code=pile)}


def test_each_session_lands_in_the_totals_with_its_reason(month):
    assert totals() == {
        ("2030-03", "flat", ""): (6000, 3),  # 3000 of 09:30-10:30, 1000 at 08:00-09:00, 2000 before midnight
        # 3000 of 09:30-10:30, 5000 at 10:00-11:00; a session counts once, where its share of the
        # period begins, so 09:30-10:30 counts in the flat band only.
        ("2030-03", "peak", ""): (8000, 1),
        ("2030-04", "valley", ""): (2000, 1),  # after midnight on 1 April
        ("2030-03", "peak", "power_above_rated"): (7001, 1),
        ("2030-03", "peak", "overlapping"): (3000, 1),
        ("2030-03", "peak", "signature_failed"): (4000, 1),
        ("2030-03", "peak", "energy_above_meter"): (2000, 1),
        ("2030-03", "peak", "non_compliant"): (3000, 1),
    }
    # PILE-B1 has no tariff in AREA-2 and no verification: held as unverified, band unknown.
    assert totals("PILE-B1") == {("2030-03", "untariffed", "unverified"): (50000, 1)}
    session = ChargingSession.objects.get(uid=month.sessions["month_end"])
    assert (session.held_reason, session.parts) == ("", {"2030-03/flat": 2000, "2030-04/valley": 2000})
    held = ChargingSession.objects.get(uid=month.sessions["overlapping"])
    assert (held.held_reason, held.parts) == ("overlapping", {"2030-03/peak": 3000})


def test_close_confirm_and_terms_only_for_the_parties(month, world):
    billing.area_meter_report(world.users["grid_manager"], area="AREA-1", period="2030-03", energy_wh=15000)
    commit_pending(at=local(2030, 4, 1, 2))
    with pytest.raises(PermissionDenied):
        billing.period_close(world.users["grid2_manager"], area="AREA-1", period="2030-03")
    billing.period_close(world.users["grid_manager"], area="AREA-1", period="2030-03")
    closed = commit_pending(at=local(2030, 4, 2))
    statement = Statement.objects.get()
    assert (statement.energy_wh, statement.excluded_wh, statement.area_meter_wh) == (14000, 19001, 15000)
    items = {(i.band): (i.energy_wh, i.tariff_price, i.tariff_amount_cny, i.excluded) for i in statement.items.all()}
    assert items == {
        "flat": (6000, Decimal("0.67400"), Decimal("4.04"), {}),  # 4.044
        "peak": (8000, Decimal("1.08200"), Decimal("8.66"), {  # 8.656
            "energy_above_meter": 2000, "non_compliant": 3000, "overlapping": 3000, "power_above_rated": 7001,
            "signature_failed": 4000}),
    }
    assert statement.tariff_amount_cny == Decimal("12.70")
    assert statement.steps.get().height == closed.height

    # The operator's node (this process) reads the terms: peak at 0.95 -> 7.60; 11.64 less 2.5 % (0.291) = 11.35.
    result, complete = billing.statement_money(statement)
    assert complete and (result.subtotal, result.discount, result.total) == (
        Decimal("11.64"), Decimal("0.29"), Decimal("11.35"))
    # The regulator opens them with its own key; GRID-2 and OP-B are not readers.
    section = statement.terms.sealed
    assert sealed.open_sealed(section, "REG", x25519_of("REG"))["discount_percent"] == "2.5"
    for outsider in ("GRID-2", "OP-B", "METRO"):
        with pytest.raises(sealed.NotAReader):
            sealed.open_sealed(section, outsider, x25519_of(outsider))
    assert "CN00" not in str(CommittedTx.objects.filter(type="settlement.terms_publish").get().body)

    billing.statement_confirm(world.users["a_manager"], statement=statement)
    # The grid company's node opens the terms with its own key and signs the hash it computes.
    grid_terms = Terms.from_plain(sealed.open_sealed(section, "GRID-1", x25519_of("GRID-1")))
    from settlement.statements import Item

    grid_items = [Item(i.pile.code, i.band, i.energy_wh, i.tariff_price) for i in statement.items.all()]
    digest = statement_hash(statement=str(statement.uid), result=compute(grid_items, grid_terms),
                            terms_commitment=statement.terms_commitment)
    node_submit(type="settlement.statement_confirm", institution="GRID-1",
                payload={"statement": str(statement.uid), "hash": digest})
    commit_pending(at=local(2030, 4, 3))
    statement.refresh_from_db()
    assert statement.status == "confirmed" and statement.operator_hash == statement.grid_hash == digest

    # An outsider may not confirm; a second close is refused.
    out = node_submit(type="settlement.statement_confirm", institution="GRID-2", check=False,
                      payload={"statement": str(statement.uid), "hash": digest})
    again = node_submit(type="settlement.period_close", institution="GRID-1", check=False,
                        payload={"area": "AREA-1", "period": "2030-03"})
    commit_pending(at=local(2030, 4, 4))
    assert CommittedTx.objects.get(tx_id=out.tx_id).reason == "GRID-2 is not a party to this statement"
    assert CommittedTx.objects.get(tx_id=again.tx_id).reason == "area AREA-1 is already closed for 2030-03"


def test_mismatch_dispute_and_correction(month, world):
    billing.period_close(world.users["a_manager"], area="AREA-1", period="2030-03")
    commit_pending(at=local(2030, 4, 2))
    statement = Statement.objects.get()
    billing.statement_confirm(world.users["a_manager"], statement=statement)
    # The grid company computes at the public tariff (as if it had no terms): the hashes differ.
    node_submit(type="settlement.statement_confirm", institution="GRID-1", payload={
        "statement": str(statement.uid), "hash": "0" * 64})
    commit_pending(at=local(2030, 4, 3))
    statement.refresh_from_db()
    assert statement.status == "open" and statement.steps.get(institution="GRID-1", action="confirmed").detail == "the parties' hashes differ"
    with pytest.raises(ValidationError):
        billing.statement_dispute(world.users["grid_manager"], statement=statement,
                                  items=[{"pile": "PILE-A1", "band": "peak", "reason": " "}])
    billing.statement_dispute(world.users["grid_manager"], statement=statement,
                              items=[{"pile": "PILE-A1", "band": "peak", "reason": "area meter shows less"}])
    commit_pending(at=local(2030, 4, 4))
    statement.refresh_from_db()
    assert statement.status == "disputed"
    assert statement.items.get(band="peak").disputed == "GRID-1: area meter shows less"
    billing.statement_correct(world.users["grid_manager"], statement=statement, reason="recounted after dispute")
    commit_pending(at=local(2030, 4, 5))
    statement.refresh_from_db()
    fresh = Statement.objects.get(corrects=statement)
    assert statement.status == "corrected" and fresh.status == "open"
    assert (fresh.energy_wh, fresh.correction_reason) == (14000, "recounted after dispute")


def test_every_node_reaches_the_same_totals(month, world):
    billing.period_close(world.users["grid_manager"], area="AREA-1", period="2030-03")
    commit_pending(at=local(2030, 4, 2))
    from ledger.execution import replay_all
    from ledger.runtime import node
    from ledger.state.rows import entry_bytes

    root = NodeState.objects.get().state_root
    rows = sorted(entry_bytes(r) for m in (EnergyTotal, ChargingSession, Statement) for r in m.objects.all())
    assert len(rows) > 10
    replay_all(role_of=node.role_of)
    assert NodeState.objects.get().state_root == root
    assert sorted(entry_bytes(r) for m in (EnergyTotal, ChargingSession, Statement) for r in m.objects.all()) == rows


def test_bad_tariffs_and_terms_are_refused(month, world):
    with pytest.raises(PermissionDenied):
        billing.tariff_publish(world.users["grid2_manager"], area="AREA-1", valid_from=dt.date(2030, 6, 1),
                               windows=WINDOWS, prices=PRICES)
    with pytest.raises(ValidationError):
        billing.tariff_publish(world.users["grid_manager"], area="AREA-1", valid_from=dt.date(2030, 6, 1),
                               windows=WINDOWS[:2], prices=PRICES)
    # Terms sealed to the wrong readers (no regulator) are refused by the contract.
    from settlement.terms import readers_for

    bad = sealed.seal(TERMS.to_plain(), readers_for(["OP-A", "GRID-1"]))
    sub = node_submit(type="settlement.terms_publish", institution="OP-A", check=False, payload={
        "area": "AREA-1", "operator": "OP-A", "valid_from": "2030-06-01", "sealed": bad})
    dup = node_submit(type="settlement.tariff_publish", institution="GRID-1", check=False, payload={
        "area": "AREA-1", "valid_from": "2030-01-01", "windows": WINDOWS, "prices": PRICES})
    commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=sub.tx_id).reason == "the terms must be sealed for exactly GRID-1, OP-A, REG"
    assert CommittedTx.objects.get(tx_id=dup.tx_id).reason == "area AREA-1 already has a tariff from 2030-01-01"
