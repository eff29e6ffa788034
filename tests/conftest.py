"""Shared fixtures: a small consortium with two of each kind of member where isolation matters.

    OP-A, OP-B        two operators           a_manager, a_viewer / b_manager
    METRO, METRO-2    two metrology institutes metro_manager / metro2_manager
    GRID-1, GRID-2    two grid companies       grid_manager / grid2_manager
    REG               the regulator            reg_manager
    (none)            platform administrator   admin

    AREA-1 (GRID-1) <- ST-A (OP-A) <- PILE-A1 (AC, 1 connector, device + meter keys)
    AREA-2 (GRID-2) <- ST-B (OP-B) <- PILE-B1 (DC, 2 connectors, device key)
    TB-1 (METRO, one key), TB-2 (METRO-2)
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from rest_framework.test import APIClient

from gateway.dbthreads import close_pool
from ledger.chain.crypto import P256, SigningKey

PASSWORD = "correct-horse-battery-staple-42"

INSTITUTIONS = {
    "OP-A": ("Operator A", "operator"),
    "OP-B": ("Operator B", "operator"),
    "METRO": ("Metrology Institute", "metrology"),
    "METRO-2": ("Second Metrology Institute", "metrology"),
    "GRID-1": ("Grid Company One", "grid"),
    "GRID-2": ("Grid Company Two", "grid"),
    "REG": ("The Regulator", "regulator"),
}

USERS = {
    "a_manager": ("OP-A", "manager"),
    "a_viewer": ("OP-A", "viewer"),
    "b_manager": ("OP-B", "manager"),
    "metro_manager": ("METRO", "manager"),
    "metro2_manager": ("METRO-2", "manager"),
    "grid_manager": ("GRID-1", "manager"),
    "grid2_manager": ("GRID-2", "manager"),
    "reg_manager": ("REG", "manager"),
}

MEMBER_USERNAMES = tuple(USERS)
ALL_USERNAMES = (*USERS, "admin")


def pytest_collection_modifyitems(config, items):
    """The scenarios of one consortium module share its real node processes (a module-scoped
    fixture) and build on each other: with `--dist loadgroup` (scripts/test) they run on one xdist
    worker, in order, and the consortium is started once."""
    for item in items:
        if item.get_closest_marker("consortium"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(autouse=True, scope="session")
def _contracts_see_no_node_local_input():
    """Every block applied in this suite runs its contracts under the determinism guard."""
    from tests.utils import determinism

    determinism.install()


@pytest.fixture(autouse=True, scope="session")
def _gateway_connections_closed_before_the_test_database_goes(django_db_setup, django_db_blocker):
    """The gateway's database threads keep their connections (gateway.dbthreads); the test database
    cannot be dropped while they are open."""
    yield
    with django_db_blocker.unblock():
        close_pool()


@pytest.fixture(autouse=True)
def fresh_token_failures():
    """Each test starts with no failed API token attempts counted for this machine's address (they are
    kept in Redis, which outlives a test's database transaction; registry.authentication)."""
    yield
    from django.core.cache import cache

    try:
        cache.delete_many(["token-failures:127.0.0.1", "token-failures:::1"])
    except Exception:  # noqa: BLE001 - a test without Redis has counted nothing there
        pass


def signing_key(seed: int) -> SigningKey:
    """A deterministic Ed25519 key for tests."""
    return SigningKey.from_seed(bytes([seed]) * 32)


@pytest.fixture
def ledger_node(db, settings, monkeypatch, tmp_path):
    """This test process as the node of OP-A, holding every member's signing key (tests/utils/ledger)."""
    from ledger.runtime import node
    from tests.utils.ledger import configure_node

    keys = configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=INSTITUTIONS, me="OP-A")
    yield SimpleNamespace(keys=keys, definition=node.consortium())
    node.reset_caches()


@pytest.fixture
def consortium(ledger_node, settings):
    from registry.models import Institution, User

    # Real password hashing costs ~0.1 s per user per test; the hash strength is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from ledger.runtime import node

    assert node.announce_consortium()  # the members' rows, as a node makes them when it starts
    institutions = {code: Institution.objects.get(code=code) for code in INSTITUTIONS}
    users = {}
    for username, (code, role) in USERS.items():
        users[username] = User.objects.create_user(
            username, password=PASSWORD, institution=institutions[code], staff_role=role,
            # Managers may use the admin; it is restricted like every other view.
            is_staff=role == "manager",
        )
    users["admin"] = User.objects.create_superuser("admin", "admin@example.org", PASSWORD)
    return SimpleNamespace(institutions=institutions, users=users)


@pytest.fixture
def world(consortium):
    """The consortium plus its registry, written through the services as the platform admin."""
    from registry import services
    from tests.utils.ledger import commit_all

    admin = consortium.users["admin"]
    services.grid_area_create(actor=admin, owner="GRID-1", code="AREA-1", name="Area one", capacity_kw=Decimal("800"))
    services.grid_area_create(actor=admin, owner="GRID-2", code="AREA-2", name="Area two", capacity_kw=Decimal("500"))
    commit_all()
    services.station_create(
        actor=admin, operator="OP-A", code="ST-A", name="Station A", address="1 Century Avenue, Pudong",
        latitude=Decimal("31.2304"), longitude=Decimal("121.4737"), grid_area="AREA-1",
        contact_name="Alice Private", contact_phone="+86 21 0000 0001",
    )
    services.station_create(
        actor=admin, operator="OP-B", code="ST-B", name="Station B", address="2 Nanjing West Road, Jing'an",
        latitude=Decimal("31.2290"), longitude=Decimal("121.4500"), grid_area="AREA-2",
        contact_name="Bob Private", contact_phone="+86 21 0000 0002",
    )
    commit_all()
    services.pile_register(
        actor=admin, station="ST-A", code="PILE-A1", kind="ac", rated_power_kw=Decimal("7"), accuracy_class=2,
        status="active", commissioned_on=date(2025, 1, 1), vendor="VendorAlpha", model_name="ModelA",
        serial_number="SN-A-SECRET", firmware_version="1.0",
        connectors=[{"connector_id": 1, "standard": "gbt_ac"}],
        keys=[
            {"public_key": signing_key(1).public_key.hex, "kind": "ed25519", "purpose": "device"},
            {"public_key": SigningKey.generate(P256).public_key.to_pem(), "purpose": "meter"},
        ],
    )
    services.pile_register(
        actor=admin, station="ST-B", code="PILE-B1", kind="dc", rated_power_kw=Decimal("120"), accuracy_class=1,
        status="active", commissioned_on=date(2025, 2, 1), vendor="VendorBeta", serial_number="SN-B-SECRET",
        connectors=[{"connector_id": 1, "standard": "gbt_dc"}, {"connector_id": 2, "standard": "gbt_dc"}],
        keys=[{"public_key": signing_key(2).public_key.hex, "kind": "ed25519"}],
    )
    services.testbox_register(
        actor=admin, owner="METRO", serial="TB-1", model_name="EVT-3000", certificate_no="CERT-1",
        certificate_expires_on=date.today() + timedelta(days=10),
    )
    services.testbox_register(
        actor=admin, owner="METRO-2", serial="TB-2", model_name="EVT-1000", certificate_no="CERT-2",
        certificate_expires_on=date.today() + timedelta(days=200),
    )
    commit_all()
    services.device_key_add(actor=admin, test_box="TB-1", public_key=signing_key(3).public_key.hex, kind="ed25519")
    commit_all()
    return consortium


@pytest.fixture
def user_client():
    """A logged-in web client for a username (None: anonymous)."""
    from registry.models import User

    def make(username: str | None) -> Client:
        client = Client()
        if username:
            client.force_login(User.objects.get(username=username))
        return client

    return make


@pytest.fixture
def api_client():
    """An API client with a session for a username (None: anonymous)."""
    from registry.models import User

    def make(username: str | None) -> APIClient:
        client = APIClient()
        if username:
            client.force_authenticate(User.objects.get(username=username))
        return client

    return make


@pytest.fixture
def token_client():
    """An API client that authenticates with a new token of an institution, as its manager made it."""
    from registry import services
    from registry.models import User

    def make(created_by: str, *, staff_role: str = "viewer", keyword: str = "Token") -> APIClient:
        _, key = services.api_token_create(
            actor=User.objects.get(username=created_by), name=f"{created_by} client", staff_role=staff_role
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
        client.token_key = key
        return client

    return make
