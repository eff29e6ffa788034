"""The admin is restricted by registry.access like every other view, and saves through services."""

import pytest

from registry.models import DeviceKey, FieldTestBox, Pile, Station
from tests.conftest import signing_key
from tests.utils.cases import row_counts

pytestmark = pytest.mark.django_db


def change_url(model: str, obj) -> str:
    return f"/admin/registry/{model}/{obj.pk}/change/"


def test_changelists_are_restricted(world, user_client):
    client = user_client("a_manager")
    boxes = client.get("/admin/registry/fieldtestbox/").content.decode()
    assert "TB-1" not in boxes and "TB-2" not in boxes
    piles = client.get("/admin/registry/pile/").content.decode()
    assert "PILE-A1" in piles and "PILE-B1" in piles  # the public map
    keys = client.get("/admin/registry/devicekey/")
    assert {key.pile.code for key in keys.context["cl"].result_list} == {"PILE-A1"}
    assert "TB-1" in user_client("reg_manager").get("/admin/registry/fieldtestbox/").content.decode()


def test_change_only_own_and_no_private_fields_of_others(world, user_client):
    client = user_client("a_manager")
    own = client.get(change_url("pile", Pile.objects.get(code="PILE-A1")))
    assert own.status_code == 200 and 'name="status"' in own.content.decode()
    other = client.get(change_url("pile", Pile.objects.get(code="PILE-B1")))
    content = other.content.decode()
    assert other.status_code == 200 and 'name="status"' not in content  # view only
    assert "SN-B-SECRET" not in content and "VendorBeta" not in content
    # A POST to another operator's pile is refused and changes nothing.
    pile_b = Pile.objects.get(code="PILE-B1")
    response = client.post(change_url("pile", pile_b), {"status": "retired"})
    assert response.status_code == 403
    assert Pile.objects.get(code="PILE-B1").status == "active"
    # Test boxes of a metrology institute are not even visible to an operator.
    box = FieldTestBox.objects.get(serial="TB-1")
    assert client.get(change_url("fieldtestbox", box)).status_code == 302  # "does not exist" redirect


def test_regulator_changes_nothing(world, user_client):
    client = user_client("reg_manager")
    station = Station.objects.get(code="ST-A")
    content = client.get(change_url("station", station)).content.decode()
    assert "Alice Private" in content and 'name="name"' not in content
    assert client.get("/admin/registry/pile/add/").status_code == 403


def test_add_through_the_service(world, user_client, monkeypatch):
    from registry import services

    calls = []
    original = services.pile_register

    def spy(**kwargs):
        calls.append(kwargs["code"])
        return original(**kwargs)

    monkeypatch.setattr("registry.admin.PileAdmin.create_service", staticmethod(spy))
    client = user_client("a_manager")
    station = Station.objects.get(code="ST-A")
    response = client.post("/admin/registry/pile/add/", {
        "station": station.pk, "code": "PILE-ADM", "kind": "ac", "rated_power_kw": "7", "accuracy_class": "2",
        "status": "planned", "connectors-TOTAL_FORMS": "0", "connectors-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert calls == ["PILE-ADM"]
    assert Pile.objects.get(code="PILE-ADM").station == station


def test_admin_edit_through_the_service(world, user_client):
    client = user_client("a_manager")
    pile = Pile.objects.get(code="PILE-A1")
    response = client.post(change_url("pile", pile), {
        "kind": "ac", "rated_power_kw": "11", "accuracy_class": "2", "commissioned_on": "2025-01-01",
        "status": "out_of_service", "vendor": "VendorAlpha", "model_name": "ModelA", "serial_number": "SN-A-SECRET",
        "firmware_version": "2.0", "connectors-TOTAL_FORMS": "1", "connectors-INITIAL_FORMS": "1",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    pile.refresh_from_db()
    assert pile.status == "out_of_service" and pile.firmware_version == "2.0"


def test_admin_key_add_validates_the_key(world, user_client):
    client = user_client("a_manager")
    pile = Pile.objects.get(code="PILE-A1")
    before = row_counts()
    response = client.post("/admin/registry/devicekey/add/", {
        "pile": pile.pk, "purpose": "device", "public_key": "deadbeef", "key_kind": "ed25519", "label": "",
    })
    assert response.status_code == 200
    assert "public_key" in response.context["adminform"].form.errors
    assert row_counts() == before
    response = client.post("/admin/registry/devicekey/add/", {
        "pile": pile.pk, "purpose": "device", "public_key": signing_key(11).public_key.hex, "key_kind": "ed25519",
    })
    assert response.status_code == 302
    assert DeviceKey.objects.filter(pile=pile).count() == 3


def test_users_and_tokens_in_admin(world, user_client):
    client = user_client("a_manager")
    users = client.get("/admin/registry/user/").content.decode()
    assert "a_viewer" in users and "b_manager" not in users
    response = client.post("/admin/registry/apitoken/add/", {"institution": world.institutions["OP-A"].pk,
                                                              "name": "Partner", "staff_role": "viewer"})
    assert response.status_code == 302
    from registry.models import ApiToken

    token = ApiToken.objects.get()
    assert token.institution.code == "OP-A" and token.created_by.username == "a_manager"
    assert token.prefix not in user_client("b_manager").get("/admin/registry/apitoken/").content.decode()


def test_anonymous_admin_redirects_to_login(world, user_client):
    response = user_client(None).get("/admin/registry/pile/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
