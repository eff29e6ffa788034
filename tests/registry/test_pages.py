"""Server-rendered pages: who sees and edits what, forms that go through the services. A saved form
sends a transaction and redirects to its status page (pending, then committed in block N), which
leads on to the object's page; the object shows there once its block commits."""

from datetime import date, timedelta

import pytest

from registry.models import Connector, DeviceKey, FieldTestBox, Pile, Station
from tests.conftest import signing_key
from tests.registry.expectations import (
    AREAS, PILES, PRIVATE_BY_STATION, PRIVATE_PILES, STATIONS, TEST_BOXES_VISIBLE, everyone,
)
from tests.registry.ledger_checks import assert_applied, assert_rejected, counts, status_page, tx_redirect
from tests.utils.cases import PageCase
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db

OPERATOR_MANAGERS_AND_ADMIN = {"a_manager", "b_manager", "admin"}


class TestPilePages(PageCase):
    list_url = "/registry/piles/"
    detail_url = "/registry/piles/{id}/"
    create_url = "/registry/piles/new/"
    edit_url = "/registry/piles/{id}/edit/"
    visible = everyone(PILES)
    private_text = {"PILE-A1": "SN-A-SECRET", "PILE-B1": "SN-B-SECRET"}
    private_visible = PRIVATE_PILES
    editable = {"a_manager": {"PILE-A1"}, "b_manager": {"PILE-B1"}, "admin": PILES}
    creators = OPERATOR_MANAGERS_AND_ADMIN


class TestStationPages(PageCase):
    list_url = "/registry/stations/"
    detail_url = "/registry/stations/{id}/"
    create_url = "/registry/stations/new/"
    edit_url = "/registry/stations/{id}/edit/"
    visible = everyone(STATIONS)
    private_text = {"ST-A": "Alice Private", "ST-B": "Bob Private"}
    # The contacts are sealed for their readers: this test node (OP-A's) opens ST-A's, never ST-B's.
    private_visible = {username: stations & {"ST-A"} for username, stations in PRIVATE_BY_STATION.items()}
    editable = {"a_manager": {"ST-A"}, "b_manager": {"ST-B"}, "admin": STATIONS}
    creators = OPERATOR_MANAGERS_AND_ADMIN


class TestGridAreaPages(PageCase):
    list_url = "/registry/grid-areas/"
    detail_url = "/registry/grid-areas/{id}/"
    create_url = "/registry/grid-areas/new/"
    edit_url = "/registry/grid-areas/{id}/edit/"
    visible = everyone(AREAS)
    editable = {"grid_manager": {"AREA-1"}, "grid2_manager": {"AREA-2"}, "admin": AREAS}
    creators = {"grid_manager", "grid2_manager", "admin"}


class TestTestBoxPages(PageCase):
    list_url = "/registry/test-boxes/"
    detail_url = "/registry/test-boxes/{id}/"
    create_url = "/registry/test-boxes/new/"
    edit_url = "/registry/test-boxes/{id}/edit/"
    visible = TEST_BOXES_VISIBLE
    editable = {"metro_manager": {"TB-1"}, "metro2_manager": {"TB-2"}, "admin": {"TB-1", "TB-2"}}
    creators = {"metro_manager", "metro2_manager", "admin"}


PILE_FORM = {
    "station": "ST-A", "code": "PILE-A2", "kind": "dc", "rated_power_kw": "60", "accuracy_class": "1",
    "commissioned_on": "2025-05-01", "status": "active", "vendor": "V", "model_name": "M",
    "serial_number": "S", "firmware_version": "F", "public": "on",
}


def test_pile_create_form_saves_through_the_service(world, user_client):
    client = user_client("a_manager")
    form_page = client.get("/registry/piles/new/").content.decode()
    for name in PILE_FORM:
        assert f'name="{name}"' in form_page, name
    assert 'type="submit"' in form_page
    response = client.post("/registry/piles/new/", PILE_FORM)
    tx_id = tx_redirect(response, "/registry/piles/PILE-A2/")
    page = client.get(response["Location"])
    content = page.content.decode()
    assert 'data-status="pending"' in content and "registry.pile_register" in content
    assert 'href="/registry/piles/PILE-A2/"' in content  # where to go once committed
    assert client.get("/registry/piles/PILE-A2/").status_code == 404  # not there while pending
    # Whoever may know sees where it stands; another operator does not.
    assert user_client("b_manager").get(response["Location"]).status_code == 404
    assert user_client("reg_manager").get(response["Location"]).status_code == 200
    [block] = commit_all()
    content = status_page(client, tx_id)
    assert 'data-status="applied"' in content and f'<dd data-field="height">{block.height}</dd>' in content
    assert client.get(f"/ledger/tx/{tx_id}/status.json").json() == {
        "tx_id": tx_id, "status": "applied", "reason": "", "height": block.height, "type": "registry.pile_register"}
    detail = client.get("/registry/piles/PILE-A2/")
    assert detail.status_code == 200 and "ST-A" in detail.content.decode()
    pile = Pile.objects.get(code="PILE-A2")
    assert pile.station.code == "ST-A" and pile.height == block.height == assert_applied(tx_id)


def test_a_write_rejected_at_commit_shows_why(world, user_client):
    """Two operators' staff send the same new code before either commits: both pages answer with a
    pending transaction; after the block, the loser's page says rejected and why."""
    first = user_client("a_manager").post("/registry/piles/new/", PILE_FORM)
    second_client = user_client("admin")
    second = second_client.post("/registry/piles/new/", {**PILE_FORM, "serial_number": "OTHER"})
    first_tx, second_tx = tx_redirect(first, "/registry/piles/PILE-A2/"), tx_redirect(second, "/registry/piles/PILE-A2/")
    commit_all()
    content = second_client.get(second["Location"]).content.decode()
    assert 'data-status="rejected"' in content and "already exists" in content
    # The way on to the object stays hidden: it is not the result of this transaction.
    assert 'data-field="next" href="/registry/piles/PILE-A2/" hidden' in content
    assert 'data-status="applied"' in status_page(second_client, first_tx)
    assert_rejected(second_tx, "already exists")
    assert Pile.objects.get(code="PILE-A2").serial_number == "S"


@pytest.mark.parametrize(
    "username, change, field",
    [
        ("a_manager", {"code": "pile-a1"}, "code"),  # duplicate, case-insensitively
        ("a_manager", {"station": "ST-B"}, "station"),  # another operator's station is not a choice
        ("b_manager", {}, "station"),
        ("a_manager", {"station": "NO-SUCH"}, "station"),
        ("a_manager", {"accuracy_class": "3"}, "accuracy_class"),
        ("a_manager", {"commissioned_on": ""}, "commissioned_on"),  # active without a date
    ],
)
def test_pile_create_form_errors_save_nothing(world, user_client, username, change, field):
    before = counts()
    response = user_client(username).post("/registry/piles/new/", {**PILE_FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert counts() == before


STATION_FORM = {
    "operator": "OP-A", "code": "ST-A2", "name": "New", "address": "3 Huaihai Road", "latitude": "31.22",
    "longitude": "121.46", "grid_area": "AREA-1", "contact_name": "", "contact_phone": "", "notes": "",
}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"latitude": "91"}, "latitude"),
        ({"latitude": "121.46", "longitude": "31.22"}, "latitude"),
        ({"longitude": "-121.46"}, "longitude"),
        ({"grid_area": "NO-SUCH"}, "grid_area"),
        ({"code": "ST-B"}, "code"),
        ({"operator": "OP-B"}, "operator"),  # not the manager's own institution
    ],
)
def test_station_form_errors_save_nothing(world, user_client, change, field):
    before = counts()
    response = user_client("a_manager").post("/registry/stations/new/", {**STATION_FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert counts() == before


def test_admin_cannot_give_a_station_to_a_non_operator(world, user_client):
    before = counts()
    response = user_client("admin").post("/registry/stations/new/", {**STATION_FORM, "operator": "METRO"})
    assert response.status_code == 200
    assert "operator" in response.context["form"].errors
    assert counts() == before


def test_station_create_and_edit(world, user_client):
    client = user_client("a_manager")
    created = tx_redirect(client.post("/registry/stations/new/", STATION_FORM), "/registry/stations/ST-A2/")
    assert client.get("/registry/stations/ST-A2/edit/").status_code == 404  # not there before its block
    commit_all()
    assert_applied(created)
    edit = {**STATION_FORM, "name": "Renamed", "code": "IGNORED", "operator": "OP-B"}
    edited = tx_redirect(client.post("/registry/stations/ST-A2/edit/", edit), "/registry/stations/ST-A2/")
    assert Station.objects.get(code="ST-A2").name == "New"
    [block] = commit_all()
    station = Station.objects.get(code="ST-A2")
    assert station.name == "Renamed" and station.operator.code == "OP-A"  # identity fields are locked
    assert station.height == block.height == assert_applied(edited)
    assert "Renamed" in client.get("/registry/stations/ST-A2/").content.decode()
    # Saving the form unchanged sends nothing and goes straight back to the station.
    before = counts()
    response = client.post("/registry/stations/ST-A2/edit/", {**STATION_FORM, "name": "Renamed"})
    assert response.status_code == 302 and response["Location"] == "/registry/stations/ST-A2/"
    assert counts() == before


def test_pile_edit_by_owner_and_refusal_for_others(world, user_client):
    data = {**PILE_FORM, "code": "PILE-A1", "status": "out_of_service", "commissioned_on": "2025-01-01"}
    before = counts()
    assert user_client("b_manager").post("/registry/piles/PILE-A1/edit/", data).status_code == 403
    assert user_client("reg_manager").post("/registry/piles/PILE-A1/edit/", data).status_code == 403
    assert counts() == before
    assert Pile.objects.get(code="PILE-A1").status == "active"
    client = user_client("a_manager")
    tx_id = tx_redirect(client.post("/registry/piles/PILE-A1/edit/", data), "/registry/piles/PILE-A1/")
    assert Pile.objects.get(code="PILE-A1").status == "active"  # pending
    [block] = commit_all()
    pile = Pile.objects.get(code="PILE-A1")
    assert pile.status == "out_of_service" and pile.kind == "dc"
    assert pile.height == block.height == assert_applied(tx_id)


def test_list_filters_and_search(world, user_client):
    client = user_client("reg_manager")

    def listed(params):
        content = client.get("/registry/piles/", params).content.decode()
        return {code for code in PILES if f"/registry/piles/{code}/" in content}

    assert listed({"operator": "OP-A"}) == {"PILE-A1"}
    assert listed({"grid_area": "AREA-2"}) == {"PILE-B1"}
    assert listed({"kind": "ac", "status": "active"}) == {"PILE-A1"}
    assert listed({"q": "Century"}) == {"PILE-A1"}
    assert listed({"q": "no such thing"}) == set()


def test_list_is_paginated(world, user_client):
    from registry import services
    from registry.models import User

    admin = User.objects.get(username="admin")
    for n in range(30):
        services.pile_register(actor=admin, station="ST-A", code=f"PAGE-{n:02d}", kind="ac", rated_power_kw=7)
    [block] = commit_all()
    assert (block.applied, block.rejected) == (30, 0)
    client = user_client("a_manager")
    first = client.get("/registry/piles/")
    assert first.context["page_obj"].paginator.num_pages == 2
    assert 'class="pagination"' in first.content.decode()
    assert len(client.get("/registry/piles/", {"page": 2}).context["objects"]) == 32 - 25


def test_connector_and_key_forms_on_the_pile_page(world, user_client):
    client = user_client("a_manager")
    page = client.get("/registry/piles/PILE-A1/").content.decode()
    assert "/registry/piles/PILE-A1/connectors/new/" in page and "/registry/piles/PILE-A1/keys/new/" in page
    assert "/connectors/new/" not in user_client("b_manager").get("/registry/piles/PILE-A1/").content.decode()

    response = client.post("/registry/piles/PILE-A1/connectors/new/", {"connector_id": 2, "evse_connector_id": 1, "standard": "type2"})
    connector_tx = tx_redirect(response, "/registry/piles/PILE-A1/")
    assert Connector.objects.filter(pile__code="PILE-A1").count() == 1
    [block] = commit_all()
    assert assert_applied(connector_tx) == block.height
    assert Connector.objects.get(pile__code="PILE-A1", connector_id=2).height == block.height

    before = counts()
    response = client.post("/registry/piles/PILE-A1/connectors/new/", {"connector_id": 2, "evse_connector_id": 1, "standard": "type2"})
    assert response.status_code == 200 and "connector_id" in response.context["form"].errors
    response = client.post("/registry/piles/PILE-A1/keys/new/", {"public_key": "12345", "kind": "ed25519", "purpose": "device"})
    assert response.status_code == 200 and "public_key" in response.context["form"].errors
    assert counts() == before

    key_hex = signing_key(5).public_key.hex
    response = client.post("/registry/piles/PILE-A1/keys/new/", {"public_key": key_hex, "kind": "ed25519", "purpose": "device"})
    key_tx = tx_redirect(response, "/registry/piles/PILE-A1/")
    before = counts()
    assert user_client("b_manager").post("/registry/piles/PILE-A1/keys/new/", {"public_key": key_hex}).status_code == 403
    assert counts() == before
    [block] = commit_all()
    key = DeviceKey.objects.get(public_key_hex=key_hex)
    assert key.pile.code == "PILE-A1" and key.added_height == block.height == assert_applied(key_tx)
    assert key.fingerprint[:16] in client.get("/registry/piles/PILE-A1/").content.decode()


def test_key_revoke_from_the_page(world, user_client):
    key = DeviceKey.objects.get(test_box__serial="TB-1")
    before = counts()
    assert user_client("reg_manager").post(f"/registry/keys/{key.fingerprint}/revoke/").status_code == 403
    assert user_client("metro2_manager").post(f"/registry/keys/{key.fingerprint}/revoke/").status_code == 404
    assert counts() == before
    response = user_client("metro_manager").post(f"/registry/keys/{key.fingerprint}/revoke/")
    tx_id = tx_redirect(response, "/registry/test-boxes/TB-1/")
    key.refresh_from_db()
    assert key.status == "active"  # until its block commits
    [block] = commit_all()
    key.refresh_from_db()
    assert key.status == "revoked" and key.revoked_height == block.height == assert_applied(tx_id)


def test_test_box_create_form(world, user_client):
    data = {
        "owner": "METRO", "serial": "TB-3", "model_name": "EVT", "manufacturer": "", "certificate_no": "C-3",
        "certificate_expires_on": (date.today() + timedelta(days=90)).isoformat(), "status": "active",
    }
    before = counts()
    refused = user_client("metro2_manager").post("/registry/test-boxes/new/", data)
    assert refused.status_code == 200 and "owner" in refused.context["form"].errors
    assert counts() == before
    client = user_client("metro_manager")
    tx_id = tx_redirect(client.post("/registry/test-boxes/new/", data), "/registry/test-boxes/TB-3/")
    assert not FieldTestBox.objects.filter(serial="TB-3").exists()
    [block] = commit_all()
    box = FieldTestBox.objects.get(serial="TB-3")
    assert box.owner.code == "METRO" and box.height == block.height == assert_applied(tx_id)
    assert client.get("/registry/test-boxes/TB-3/").status_code == 200


@pytest.mark.parametrize(
    "username, marker, text",
    [
        ("a_manager", 'data-role="operator"', "ST-A"),
        ("metro_manager", 'data-role="metrology"', "TB-1"),
        ("grid_manager", 'data-role="grid"', "AREA-1"),
        ("reg_manager", 'data-role="regulator"', "OP-B"),
        ("admin", 'data-role="regulator"', "OP-A"),
    ],
)
def test_home_page_per_role(world, user_client, username, marker, text):
    content = user_client(username).get("/").content.decode()
    assert marker in content and text in content


def test_home_page_shows_only_own_things(world, user_client):
    assert "ST-B" not in user_client("a_manager").get("/").content.decode()
    assert "TB-2" not in user_client("metro_manager").get("/").content.decode()
    assert "AREA-2" not in user_client("grid_manager").get("/").content.decode()
    assert user_client(None).get("/").status_code == 302


def test_the_list_shows_what_the_user_sent_until_it_commits(world, user_client):
    from tests.utils.ledger import commit_all

    client = user_client("a_manager")
    response = client.post("/registry/stations/new/", {
        "operator": "OP-A", "code": "ST-PEND", "name": "Pending", "address": "9 Somewhere Road, Shanghai",
        "latitude": "31.2", "longitude": "121.5", "grid_area": "AREA-1"})
    assert response.status_code == 302 and "/ledger/tx/" in response["Location"]
    listing = client.get("/registry/stations/").content.decode()
    assert "registry.station_create" in listing and "ST-PEND" not in listing
    assert "registry.station_create" not in user_client("b_manager").get("/registry/stations/").content.decode()
    commit_all()
    listing = client.get("/registry/stations/").content.decode()
    assert "registry.station_create" not in listing and "ST-PEND" in listing


@pytest.mark.parametrize("username", ["a_manager", "grid_manager", "reg_manager", "metro_manager"])
def test_every_count_on_the_home_page_links_to_the_list_behind_it(world, user_client, username):
    import html
    import re

    client = user_client(username)
    home = client.get("/").content.decode()
    # Counts only (a sum of rated kW links to its piles too, marked data-sum).
    links = re.findall(r'<a (?:class="[^"]*" )?href="(/registry/(piles|stations)/\?[^"]*)">(\d+)</a>', home)
    if username == "grid_manager":  # the active rated power of an area links to its active piles
        assert 'data-sum="rated-kw" href="/registry/piles/?grid_area=AREA-1&amp;status=active"' in home
    assert links, home
    for href, kind, number in links:
        listing = client.get(html.unescape(href))
        assert listing.status_code == 200, href
        rows = set(re.findall(rf'href="/registry/{kind}/([^/"?]+)/"', listing.content.decode()))
        rows.discard("new")
        assert len(rows) == int(number), (href, number, sorted(rows))
