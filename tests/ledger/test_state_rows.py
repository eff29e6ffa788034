"""State entries and bulk writes: the fast paths must give exactly what the generic ones give."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ledger.chain.encoding import canonical
from ledger.models import Anchor
from ledger.state.bulk import bulk_insert, bulk_update
from ledger.state.muhash import PRIME, MuHash
from ledger.state.rows import _field_value, _value, entry_bytes, owned_models

pytestmark = pytest.mark.django_db


def generic_entry(row) -> bytes:
    """The definition: canonical({"m", "k", "s"}) with every value as the database gives it back."""
    state = {name: _value(_field_value(row, name)) for name in row.LEDGER_FIELDS}
    return canonical({"m": row._meta.label_lower, "k": str(row.public_id), "s": state})


def test_every_owned_row_encodes_as_the_generic_encoding_says(world):
    from tests.settlement.month import Month

    month = Month(world)
    month.prepare()
    month.play()
    month.report_availability()
    seen = 0
    for model in owned_models():
        for row in model._base_manager.all():
            assert entry_bytes(row) == generic_entry(row), model
            seen += 1
    assert seen > 50


def test_freshly_assigned_values_encode_as_stored_ones(world):
    from registry.models import Pile
    from settlement.models import EnergyTotal

    pile = Pile.objects.get(code="PILE-A1")
    fresh = EnergyTotal(pile=pile, period="2030-03", band="peak", reason="", energy_wh="7", sessions=True)
    stored = EnergyTotal(pile=pile, period="2030-03", band="peak", reason="", energy_wh=7, sessions=1)
    assert entry_bytes(fresh) == entry_bytes(stored) == generic_entry(stored)
    pile.rated_power_kw = "7"
    as_read = Pile.objects.get(code="PILE-A1")
    assert entry_bytes(pile) == entry_bytes(as_read) == generic_entry(as_read)
    assert b'"rated_power_kw":"7.0"' in entry_bytes(pile)
    with pytest.raises(ValidationError):
        entry_bytes(Anchor(uid=uuid.uuid4(), kind="k", root="r", count=1, institution="X",
                           height=dt.datetime(2030, 1, 1)))  # not an integer


def test_bulk_insert_and_update_round_trip():
    rows = [Anchor(uid=uuid.uuid4(), kind="telemetry", root=f"{i:064x}", count=i + 1, reference="", institution="OP-A",
                   height=10 + i, tx_id=f"{i:064x}") for i in range(7)]
    rows[0].pk = 10_000  # a row keeping its key (a replay) among new ones
    bulk_insert(Anchor, rows, connection=connection)
    assert all(row.pk for row in rows) and rows[0].pk == 10_000
    stored = {a.pk: a for a in Anchor.objects.all()}
    assert {entry_bytes(stored[row.pk]) for row in rows} == {entry_bytes(row) for row in rows}
    for row in rows[::2]:
        row.count *= 100
        row.reference = "ref 'quoted' \u6d4b\u8bd5 tab\there back\\slash new\nline"
    bulk_update(Anchor, rows[::2], ["count", "reference"], connection=connection)
    for row in rows:
        fresh = Anchor.objects.get(pk=row.pk)
        assert (fresh.count, fresh.reference) == (row.count, row.reference)


def test_bulk_writes_convert_dates_decimals_and_documents(world):
    """A model with every kind of column a contract writes: times, dates, decimals, JSON, UUIDs."""
    from subsidy.models import Policy

    policy = Policy(version=1, valid_from="2030-01", per_kwh_cny=Decimal("0.2000"),
                    construction_per_kw_cny=Decimal("100.00"), min_availability=Decimal("0.9"),
                    cap_per_pile_year_cny=Decimal("5000.00"), cap_per_operator_year_cny=Decimal("100000.00"),
                    note="n", published_by="REG", height=3, tx_id="ab" * 32)
    bulk_insert(Policy, [policy], connection=connection)
    policy.min_availability = Decimal("0.950000")
    policy.note = "changed"
    bulk_update(Policy, [policy], ["min_availability", "note"], connection=connection)
    assert entry_bytes(Policy.objects.get()) == entry_bytes(policy)

    from settlement.models import ChargingSession
    from registry.models import Pile

    session = ChargingSession(uid=uuid.uuid4(), pile=Pile.objects.get(code="PILE-A1"), connector_id=1,
                              transaction_id="t", protocol="ocpp1.6",
                              started_at=dt.datetime(2030, 3, 1, 1, 2, 3, 456000, tzinfo=dt.timezone.utc),
                              meter_start_wh=5, opened_tx="cd" * 32, opened_height=4, signed_data=["x"])
    bulk_insert(ChargingSession, [session], connection=connection)
    session.stopped_at = dt.datetime(2030, 3, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    session.parts = {"2030-03/peak": 10}
    session.signature_ok = None
    session.energy_wh = 10
    bulk_update(ChargingSession, [session], ["stopped_at", "parts", "signature_ok", "energy_wh"],
                connection=connection)
    assert entry_bytes(ChargingSession.objects.get(uid=session.uid)) == entry_bytes(session)


def test_children_of_rows_inserted_together_keep_their_parents(world, django_assert_num_queries):
    """Rows whose parent was assigned before it had a key (a claim's exclusions and their lines) take
    the key at the insert and keep the parent object: encoding them reads nothing back (a claim of
    10,000 piles once spent 27 s in a query per exclusion)."""
    from registry.models import Institution, Pile
    from subsidy.models import Claim, ClaimExclusion, ClaimLine, Policy

    policy = Policy(version=1, valid_from="2030-01", per_kwh_cny=Decimal("0.2000"),
                    construction_per_kw_cny=Decimal("100.00"), min_availability=Decimal("0.9"),
                    cap_per_pile_year_cny=Decimal("5000.00"), cap_per_operator_year_cny=Decimal("100000.00"),
                    published_by="REG", height=3, tx_id="ab" * 32)
    policy.save()
    claim = Claim(uid=uuid.uuid4(), operator=Institution.objects.get(code="OP-A"), period="2030-03", policy=policy,
                  eligible_cny=Decimal("0"), submitted_height=5, height=5)
    claim.save()
    piles = list(Pile.objects.order_by("code")[:2])
    lines = [ClaimLine(uid=uuid.uuid4(), claim=claim, pile=pile, period="2030-03", sessions=1, energy_wh=1000,
                       excluded_wh=10, operating_cny=Decimal("0.20"), construction_cny=Decimal("0"),
                       amount_cny=Decimal("0.20")) for pile in piles]
    exclusions = [ClaimExclusion(uid=uuid.uuid4(), line=line, session=str(uuid.uuid4()), reason="overlapping",
                                 energy_wh=10) for line in lines for _ in range(3)]
    assert all(e.line_id is None for e in exclusions)  # assigned before the lines had keys
    bulk_insert(ClaimLine, lines, connection=connection)
    bulk_insert(ClaimExclusion, exclusions, connection=connection)
    assert [e.line_id for e in exclusions] == [line.pk for line in lines for _ in range(3)]
    with django_assert_num_queries(0):
        encoded = [entry_bytes(e) for e in exclusions]
    stored = {e.uid: e for e in ClaimExclusion.objects.all()}
    assert encoded == [entry_bytes(stored[e.uid]) for e in exclusions]


def test_muhash_is_its_definition_and_order_independent():
    """GMP integers compute what the definition says in plain integers: the product of the rows'
    SHAKE-256 expansions modulo the prime, divided by the removed ones'."""
    import hashlib

    def element(data: bytes) -> int:
        return int.from_bytes(hashlib.shake_256(b"pilechain/muhash/v2" + data).digest(384), "little") % PRIME

    items = [f"row {i}".encode() for i in range(20)]
    expected = 1
    for item in items:
        expected = expected * element(item) % PRIME
    expected = expected * pow(element(items[7]), -1, PRIME) % PRIME
    digest = MuHash.of(items)
    digest.remove(items[7])
    assert digest.value() == expected and isinstance(digest.value(), int)
    forward, backward = MuHash.of(items), MuHash.of(reversed(items))
    assert forward.digest() == backward.digest()
    forward.remove(items[3])
    assert forward.digest() == MuHash.of(items[:3] + items[4:]).digest()
    assert MuHash.from_hex(forward.to_hex()).digest() == forward.digest()


def test_new_row_is_the_instance_the_model_would_make(world):
    from registry.models import Pile
    from settlement.models import ChargingSession, EnergyTotal
    from ledger.state.rows import new_row

    pile = Pile.objects.get(code="PILE-A1")
    values = dict(pile=pile, period="2030-03", band="peak", reason="", energy_wh=7, sessions=1)
    fast, slow = new_row(EnergyTotal, **values), EnergyTotal(**values)
    assert entry_bytes(fast) == entry_bytes(slow) and fast.pile is pile and fast.pile_id == pile.pk
    fast.save()
    assert entry_bytes(EnergyTotal.objects.get(pk=fast.pk)) == entry_bytes(slow)
    # Defaults are fresh values, not one shared dict.
    a = new_row(ChargingSession, pile=pile, connector_id=1)
    b = new_row(ChargingSession, pile_id=pile.pk, connector_id=2)
    a.parts["x"] = 1
    assert b.parts == {} and b.pile_id == pile.pk and b.status == "open"
    with pytest.raises(TypeError, match="no field"):
        new_row(EnergyTotal, pile=pile, nonsense=1)


def test_stored_rows_are_the_instances_the_orm_loads(world):
    """Rows read through values_list encode as the ORM's own instances, related objects attached."""
    from ledger.state.rows import stored_rows
    from registry.models import Connector, Pile, Station

    stations = Station.objects.in_bulk()
    for queryset in (Pile.objects.order_by("pk"), Connector.objects.order_by("pk")):
        loaded = list(queryset)
        assert loaded
        built = stored_rows(queryset, related={"station": stations} if queryset.model is Pile else None)
        assert [entry_bytes(row) for row in built] == [entry_bytes(row) for row in loaded]
        assert all(not row._state.adding for row in built)
    piles = stored_rows(Pile.objects.order_by("pk"), related={"station": stations})
    assert piles[0].station is stations[piles[0].station_id]
