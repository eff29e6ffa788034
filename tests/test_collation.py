"""Contracts decide by code point, never by the database's collation.

SQLite compares text byte by byte; a PostgreSQL database orders it by its collation, which is code
point order only for C (many servers are initialised with a language's collation, where "OP_A" comes
before "OP-B" and "a-pile" before "B-PILE"). A contract whose writes or reasons follow an ORDER BY on
text would then write differently on nodes with different databases. Each test gives the column a
linguistic collation (ICU's root, "und-x-icu") inside its own transaction and checks that the
outcome is the code point one. SQLite has no other collation to give: there the tests are skipped.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from ledger.models import CommittedTx
from ledger.services import node_submit
from tests.settlement.month import local
from tests.utils.ledger import commit_all, commit_pending

pytestmark = pytest.mark.django_db

COLLATION = "und-x-icu"


def collate(table: str, column: str, max_length: int) -> None:
    """Give a column the linguistic collation (DDL is transactional: the test's rollback undoes it)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite only compares bytes: a collation other than code point order needs PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_collation WHERE collname = %s", [COLLATION])
        if cursor.fetchone() is None:
            pytest.skip(f"this PostgreSQL server has no {COLLATION} collation (built without ICU)")
        # Deferred foreign-key checks of rows written in this transaction would block the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE varchar({max_length}) COLLATE "{COLLATION}"')


def pile(admin, station: str, code: str) -> None:
    from registry import services

    services.pile_register(
        actor=admin, station=station, code=code, kind="ac", rated_power_kw=Decimal("7"), accuracy_class=2,
        status="active", commissioned_on=dt.date(2025, 1, 1), connectors=[{"connector_id": 1, "standard": "gbt_ac"}])


def test_a_second_claim_names_the_first_taken_pile_by_code_point(world):
    admin = world.users["admin"]
    pile(admin, "ST-A", "B-PILE")
    pile(admin, "ST-A", "a-pile")
    commit_all()
    from subsidy import services

    services.policy_publish(world.users["reg_manager"], valid_from="2030-01", per_kwh_cny="0.2000",
                            construction_per_kw_cny="100.00", min_availability="0.900000",
                            cap_per_pile_year_cny="5000.00", cap_per_operator_year_cny="100000.00")
    commit_pending(at=local(2030, 1, 2))
    claim = {"period": "2030-03", "piles": ["B-PILE", "a-pile"]}
    first = node_submit(type="subsidy.claim_submit", payload=claim, institution="OP-A", check=False)
    commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=first.tx_id).status == "applied"

    collate("registry_pile", "code", 48)
    with connection.cursor() as cursor:  # the collation in force: it would pick "a-pile"
        cursor.execute("SELECT code FROM registry_pile WHERE code IN ('B-PILE', 'a-pile') ORDER BY code")
        assert [row[0] for row in cursor.fetchall()] == ["a-pile", "B-PILE"]
    again = node_submit(type="subsidy.claim_submit", payload=claim, institution="OP-A", check=False)
    commit_pending(at=local(2030, 4, 3))
    # "B" (U+0042) comes before "a" (U+0061): what every SQLite node says.
    assert CommittedTx.objects.get(tx_id=again.tx_id).reason == "a second claim for pile B-PILE and period 2030-03"


# Two operators whose codes a linguistic collation orders the other way round: "OP-B" < "OP_A" by
# code point ("-" is U+002D, "_" U+005F), "OP_A" < "OP-B" in ICU's root collation.
MEMBERS = {
    "OP_A": ("Operator A", "operator"),
    "OP-B": ("Operator B", "operator"),
    "METRO": ("Metrology Institute", "metrology"),
    "GRID-1": ("Grid Company", "grid"),
    "REG": ("The Regulator", "regulator"),
}


@pytest.fixture
def two_operators_one_area(db, settings, monkeypatch, tmp_path):
    from ledger.runtime import node
    from registry import services
    from registry.models import User
    from tests.utils.ledger import configure_node

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=MEMBERS, me="OP_A")
    assert node.announce_consortium()
    admin = User.objects.create_superuser("admin", "admin@example.org", "not-under-test-42")
    services.grid_area_create(actor=admin, owner="GRID-1", code="AREA-1", name="Area one", capacity_kw=Decimal("800"))
    commit_all()
    for operator, station in (("OP_A", "ST-A"), ("OP-B", "ST-B")):
        services.station_create(actor=admin, operator=operator, code=station, name=f"Station {operator}",
                                address="1 Century Avenue, Pudong", latitude=Decimal("31.2304"),
                                longitude=Decimal("121.4737"), grid_area="AREA-1")
    commit_all()
    pile(admin, "ST-A", "PILE-A1")
    pile(admin, "ST-B", "PILE-B1")
    commit_all()
    yield
    node.reset_caches()


def test_closing_an_area_writes_the_operators_statements_in_code_point_order(two_operators_one_area):
    """The state root after the closing is the same whatever the collation of the institutions' codes:
    the statements are written in the same order, so the chained hash of the writes agrees."""
    from settlement.models import Statement

    close = node_submit(type="settlement.period_close", payload={"area": "AREA-1", "period": "2030-03"},
                        institution="GRID-1", check=False)
    before = transaction.savepoint()
    by_code_point = commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=close.tx_id).status == "applied"
    assert sorted(Statement.objects.values_list("operator__code", flat=True)) == ["OP-B", "OP_A"]
    transaction.savepoint_rollback(before)  # the block again, as a node with the other collation applies it

    collate("registry_institution", "code", 32)
    with connection.cursor() as cursor:
        cursor.execute("SELECT code FROM registry_institution WHERE code IN ('OP_A', 'OP-B') ORDER BY code")
        assert [row[0] for row in cursor.fetchall()] == ["OP_A", "OP-B"]
    by_collation = commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=close.tx_id).status == "applied"
    assert by_collation.height == by_code_point.height
    assert by_collation.state_root == by_code_point.state_root
