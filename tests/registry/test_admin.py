"""The admin is restricted by registry.access like every other view. The registry's ledger-owned
rows are view-only there (their pages and the API send transactions); its one write on them, the key
revocation action, sends transactions too. People and API tokens, node-local, are edited here."""

import pytest

from ledger.models import Submission
from registry.models import Connector, DeviceKey, FieldTestBox, GridArea, Institution, Pile, Station
from tests.registry.ledger_checks import counts
from tests.utils.ledger import commit_all

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


def test_ledger_records_are_view_only_with_private_fields_for_the_entitled(world, user_client):
    """The ledger's contracts write these rows; the admin shows them (restricted) and edits none."""
    client = user_client("a_manager")
    pile_a, pile_b = Pile.objects.get(code="PILE-A1"), Pile.objects.get(code="PILE-B1")
    own = client.get(change_url("pile", pile_a))
    content = own.content.decode()
    assert own.status_code == 200 and 'name="status"' not in content  # view only, even its own
    assert "SN-A-SECRET" in content  # ...with its private fields
    other = client.get(change_url("pile", pile_b))
    content = other.content.decode()
    assert other.status_code == 200 and 'name="status"' not in content
    assert "SN-B-SECRET" not in content and "VendorBeta" not in content
    # A POST, to its own pile or another operator's, is refused: nothing changes, nothing is sent.
    before = counts()
    for pile in (pile_a, pile_b):
        assert client.post(change_url("pile", pile), {"status": "retired"}).status_code == 403
    assert counts() == before
    assert set(Pile.objects.values_list("status", flat=True)) == {"active"}
    # Test boxes of a metrology institute are not even visible to an operator.
    box = FieldTestBox.objects.get(serial="TB-1")
    assert client.get(change_url("fieldtestbox", box)).status_code == 302  # "does not exist" redirect


LEDGER_OWNED = [
    ("institution", lambda: Institution.objects.get(code="OP-A"), {"code": "OP-A", "name": "Renamed", "role": "operator"}),
    ("gridarea", lambda: GridArea.objects.get(code="AREA-1"), {"name": "Renamed", "capacity_kw": "1"}),
    ("station", lambda: Station.objects.get(code="ST-A"), {"name": "Renamed"}),
    ("pile", lambda: Pile.objects.get(code="PILE-A1"), {"status": "retired"}),
    ("connector", lambda: Connector.objects.get(pile__code="PILE-A1"), {"standard": "type2"}),
    ("fieldtestbox", lambda: FieldTestBox.objects.get(serial="TB-1"), {"certificate_no": "FORGED"}),
    ("devicekey", lambda: DeviceKey.objects.get(test_box__serial="TB-1"), {"status": "revoked"}),
]


@pytest.mark.parametrize("username", ["admin", "a_manager", "metro_manager"])
def test_ledger_owned_models_cannot_be_added_or_changed(world, user_client, username):
    client = user_client(username)
    for model, get, data in LEDGER_OWNED:
        obj = get()
        stored = type(obj).objects.filter(pk=obj.pk).values().get()
        before = counts()
        assert client.get(f"/admin/registry/{model}/add/").status_code == 403, model
        assert client.post(f"/admin/registry/{model}/add/", data).status_code == 403, model
        change = client.post(change_url(model, obj), data)
        # 403, or the admin's "does not exist" redirect for what the user may not even see.
        assert change.status_code == 403 or (username != "admin" and change.status_code == 302), (model, change)
        assert counts() == before, model
        assert type(obj).objects.filter(pk=obj.pk).values().get() == stored, model


def test_regulator_changes_nothing(world, user_client):
    client = user_client("reg_manager")
    station = Station.objects.get(code="ST-A")
    content = client.get(change_url("station", station)).content.decode()
    assert "Alice Private" in content and 'name="name"' not in content
    assert client.get("/admin/registry/pile/add/").status_code == 403


def test_revoke_action_sends_revocations_that_commit(world, user_client):
    """The admin's one write: revoking keys sends one transaction per key the user may change; the
    keys are revoked when the block commits, from that height on."""
    client = user_client("a_manager")
    own = list(DeviceKey.objects.filter(pile__code="PILE-A1"))
    other = DeviceKey.objects.get(pile__code="PILE-B1")  # not in a_manager's changelist at all
    before = counts()
    response = client.post("/admin/registry/devicekey/", {
        "action": "revoke", "index": "0", "_selected_action": [k.pk for k in own] + [other.pk],
    }, follow=True)
    assert response.status_code == 200
    assert "2 revocations sent" in response.content.decode()
    assert Submission.objects.count() == before["Submission"] + 2
    assert set(Submission.objects.filter(type="registry.device_key_revoke").values_list("submitted_by__username",
                                                                                        flat=True)) == {"a_manager"}
    assert {k.status for k in DeviceKey.objects.filter(pile__code="PILE-A1")} == {"active"}  # pending
    [block] = commit_all()
    assert (block.applied, block.rejected) == (2, 0)
    assert {(k.status, k.revoked_height) for k in DeviceKey.objects.filter(pile__code="PILE-A1")} == {
        ("revoked", block.height)}
    assert DeviceKey.objects.get(pk=other.pk).status == "active"
    # The regulator sees keys but may revoke none: the action sends nothing.
    before = counts()
    response = user_client("reg_manager").post("/admin/registry/devicekey/", {
        "action": "revoke", "index": "0", "_selected_action": [other.pk],
    }, follow=True)
    assert "0 revocations sent" in response.content.decode()
    assert counts() == before and DeviceKey.objects.get(pk=other.pk).status == "active"


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
