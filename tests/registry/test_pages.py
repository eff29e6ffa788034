"""Server-rendered pages: who sees and edits what, forms that go through the services."""

from datetime import date, timedelta

import pytest

from registry.models import Connector, DeviceKey, FieldTestBox, Pile, Station
from tests.conftest import signing_key
from tests.registry.expectations import (
    AREAS, PILES, PRIVATE_BY_STATION, PRIVATE_PILES, STATIONS, TEST_BOXES_VISIBLE, everyone,
)
from tests.utils.cases import PageCase, row_counts

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
    private_visible = PRIVATE_BY_STATION
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
    "serial_number": "S", "firmware_version": "F",
}


def test_pile_create_form_saves_through_the_service(world, user_client):
    client = user_client("a_manager")
    form_page = client.get("/registry/piles/new/").content.decode()
    for name in PILE_FORM:
        assert f'name="{name}"' in form_page, name
    assert 'type="submit"' in form_page
    response = client.post("/registry/piles/new/", PILE_FORM)
    assert response.status_code == 302
    assert response["Location"] == "/registry/piles/PILE-A2/"
    assert Pile.objects.get(code="PILE-A2").station.code == "ST-A"


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
    before = row_counts()
    response = user_client(username).post("/registry/piles/new/", {**PILE_FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors, response.context["form"].errors
    assert row_counts() == before


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
    before = row_counts()
    response = user_client("a_manager").post("/registry/stations/new/", {**STATION_FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert row_counts() == before


def test_admin_cannot_give_a_station_to_a_non_operator(world, user_client):
    before = row_counts()
    response = user_client("admin").post("/registry/stations/new/", {**STATION_FORM, "operator": "METRO"})
    assert response.status_code == 200
    assert "operator" in response.context["form"].errors
    assert row_counts() == before


def test_station_create_and_edit(world, user_client):
    client = user_client("a_manager")
    assert client.post("/registry/stations/new/", STATION_FORM).status_code == 302
    edit = {**STATION_FORM, "name": "Renamed", "code": "IGNORED", "operator": "OP-B"}
    assert client.post("/registry/stations/ST-A2/edit/", edit).status_code == 302
    station = Station.objects.get(code="ST-A2")
    assert station.name == "Renamed" and station.operator.code == "OP-A"  # identity fields are locked


def test_pile_edit_by_owner_and_refusal_for_others(world, user_client):
    data = {**PILE_FORM, "code": "PILE-A1", "status": "out_of_service", "commissioned_on": "2025-01-01"}
    assert user_client("b_manager").post("/registry/piles/PILE-A1/edit/", data).status_code == 403
    assert user_client("reg_manager").post("/registry/piles/PILE-A1/edit/", data).status_code == 403
    assert Pile.objects.get(code="PILE-A1").status == "active"
    assert user_client("a_manager").post("/registry/piles/PILE-A1/edit/", data).status_code == 302
    pile = Pile.objects.get(code="PILE-A1")
    assert pile.status == "out_of_service" and pile.kind == "dc"


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
    assert response.status_code == 302
    assert Connector.objects.filter(pile__code="PILE-A1").count() == 2

    before = row_counts()
    response = client.post("/registry/piles/PILE-A1/connectors/new/", {"connector_id": 2, "evse_connector_id": 1, "standard": "type2"})
    assert response.status_code == 200 and "connector_id" in response.context["form"].errors
    response = client.post("/registry/piles/PILE-A1/keys/new/", {"public_key": "12345", "kind": "ed25519", "purpose": "device"})
    assert response.status_code == 200 and "public_key" in response.context["form"].errors
    assert row_counts() == before

    key_hex = signing_key(5).public_key.hex
    response = client.post("/registry/piles/PILE-A1/keys/new/", {"public_key": key_hex, "kind": "ed25519", "purpose": "device"})
    assert response.status_code == 302
    assert user_client("b_manager").post("/registry/piles/PILE-A1/keys/new/", {"public_key": key_hex}).status_code == 403


def test_key_revoke_from_the_page(world, user_client):
    key = DeviceKey.objects.get(test_box__serial="TB-1")
    assert user_client("reg_manager").post(f"/registry/keys/{key.fingerprint}/revoke/").status_code == 403
    assert user_client("metro2_manager").post(f"/registry/keys/{key.fingerprint}/revoke/").status_code == 404
    assert user_client("metro_manager").post(f"/registry/keys/{key.fingerprint}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.status == "revoked"


def test_test_box_create_form(world, user_client):
    data = {
        "owner": "METRO", "serial": "TB-3", "model_name": "EVT", "manufacturer": "", "certificate_no": "C-3",
        "certificate_expires_on": (date.today() + timedelta(days=90)).isoformat(), "status": "active",
    }
    assert user_client("metro2_manager").post("/registry/test-boxes/new/", data).status_code == 200
    assert not FieldTestBox.objects.filter(serial="TB-3").exists()
    assert user_client("metro_manager").post("/registry/test-boxes/new/", data).status_code == 302
    assert FieldTestBox.objects.get(serial="TB-3").owner.code == "METRO"


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
