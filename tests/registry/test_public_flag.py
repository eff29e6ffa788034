"""A pile's `public` flag: open to any driver (true, the default) or dedicated (false), the flag the
subsidy policy pays by. It is ledger state: registered and changed only by transactions, only ever a
JSON boolean, in the entry every node hashes (so the audit covers it), and a filter that the API and
the piles page share."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from ledger.audit import audit_tables
from ledger.chain.encoding import decode
from ledger.execution import node_state, replay_all
from ledger.models import CommittedTx
from ledger.runtime import node
from ledger.services import node_submit
from ledger.state.rows import entry_bytes
from registry import services
from registry.models import Pile, User
from tests.registry.ledger_checks import assert_applied, assert_rejected, counts, tx_redirect
from tests.registry.test_ledger_writes import registry_state
from tests.utils.cases import assert_error_body
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db

REASON = "public: Must be true or false."
NOT_BOOLEANS = ["false", "true", 0, 1, None, "", "yes", [], {"value": False}]


def user(name: str) -> User:
    return User.objects.get(username=name)


def state_entry(pile: Pile) -> dict:
    """The pile's state as the state root and the audit hash it."""
    return decode(entry_bytes(pile))["s"]


def register_dedicated(code: str = "PILE-DEPOT") -> Pile:
    submission = services.pile_register(actor=user("a_manager"), station="ST-A", code=code, kind="ac",
                                        rated_power_kw=7, public=False)
    commit_all()
    assert_applied(submission.tx_id)
    return Pile.objects.get(code=code)


# --- the ledger --------------------------------------------------------------------------------------

def test_a_dedicated_pile_is_registered_and_opened_to_the_public_by_transactions(world):
    submission = services.pile_register(actor=user("a_manager"), station="ST-A", code="PILE-DEPOT", kind="ac",
                                        rated_power_kw=7, public=False)
    assert submission.body["payload"]["public"] is False  # the JSON boolean is what is signed
    assert not Pile.objects.filter(code="PILE-DEPOT").exists()  # pending
    [registered] = commit_all()
    assert assert_applied(submission.tx_id) == registered.height
    pile = Pile.objects.get(code="PILE-DEPOT")
    assert (pile.public, pile.height) == (False, registered.height)
    assert state_entry(pile)["public"] is False
    assert Pile.objects.get(code="PILE-A1").public is True  # the world's piles: registered without it

    opened = services.pile_update(actor=user("a_manager"), pile=pile, data={"public": True})
    assert opened.body["payload"] == {"code": "PILE-DEPOT", "changes": {"public": True}}
    assert Pile.objects.get(code="PILE-DEPOT").public is False  # pending
    [block] = commit_all()
    assert assert_applied(opened.tx_id) == block.height
    pile.refresh_from_db()
    assert (pile.public, pile.height) == (True, block.height)
    assert state_entry(pile)["public"] is True
    # The same value again is no change: nothing is sent.
    before = counts()
    assert services.pile_update(actor=user("a_manager"), pile=pile, data={"public": True}) is None
    assert counts() == before
    assert audit_tables().ok


def test_a_registration_without_the_flag_is_a_public_pile(world):
    submission = node_submit(type="registry.pile_register", institution="OP-A", payload={
        "station": "ST-A", "code": "PILE-PLAIN", "kind": "ac", "rated_power_kw": "7"})
    commit_all()
    assert_applied(submission.tx_id)
    assert Pile.objects.get(code="PILE-PLAIN").public is True


@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=[repr(v) for v in NOT_BOOLEANS])
def test_only_a_json_boolean_is_taken_and_anything_else_changes_nothing(world, value):
    register_dedicated()
    sends = [
        ("registry.pile_register", {"station": "ST-A", "code": "PILE-NEW", "kind": "ac", "rated_power_kw": "7",
                                    "public": value}),
        # 1 == True and 0 == False in Python: a loose check would call these "no change" or apply them.
        ("registry.pile_update", {"code": "PILE-A1", "changes": {"public": value}}),
        ("registry.pile_update", {"code": "PILE-DEPOT", "changes": {"public": value}}),
    ]
    before, state = counts(), registry_state()
    for type_, payload in sends:
        with pytest.raises(ValidationError) as info:  # the dry run says so at once, by field
            node_submit(type=type_, payload=payload, institution="OP-A")
        assert info.value.message_dict == {"public": ["Must be true or false."]}
    assert counts() == before
    # Sent anyway, past the dry run: each is committed as rejected, with its reason, and writes nothing.
    submissions = [node_submit(type=t, payload=p, institution="OP-A", check=False) for t, p in sends]
    [block] = commit_all()
    assert (block.applied, block.rejected) == (0, len(sends))
    for submission in submissions:
        assert assert_rejected(submission.tx_id) == REASON
        assert CommittedTx.objects.get(tx_id=submission.tx_id).block.height == block.height
    assert registry_state() == state
    assert not Pile.objects.filter(code="PILE-NEW").exists()
    assert dict(Pile.objects.values_list("code", "public")) == {"PILE-A1": True, "PILE-B1": True, "PILE-DEPOT": False}
    assert audit_tables().ok


def test_the_flag_is_in_the_state_the_audit_recomputes(world):
    pile = register_dedicated()
    committed = entry_bytes(pile)
    pile.public = True
    assert entry_bytes(pile) != committed  # the entry changes with the flag alone
    tip_root = node_state().state_root
    assert audit_tables().ok

    with connection.cursor() as cursor:  # behind the ledger's back: a dedicated pile passed off as public
        cursor.execute("UPDATE registry_pile SET public = %s WHERE code = 'PILE-DEPOT'", [True])
    result = audit_tables()
    assert not result.ok and node_state().diverged

    replay_all(role_of=node.role_of)  # the chain says what the table must hold
    pile = Pile.objects.get(code="PILE-DEPOT")
    assert pile.public is False and entry_bytes(pile) == committed
    assert node_state().state_root == tip_root
    assert audit_tables().ok and not node_state().diverged


# --- the API ----------------------------------------------------------------------------------------

NEW_PILE = {"station": "ST-A", "code": "PILE-A2", "kind": "ac", "rated_power_kw": "7.0"}


def test_the_api_registers_and_changes_the_flag(world, api_client):
    client = api_client("a_manager")
    response = client.post("/api/piles/", {**NEW_PILE, "public": False}, format="json")
    assert response.status_code == 202, response.content
    commit_all()
    assert_applied(response.json()["tx_id"])
    # Every member sees it: it is not one of the operator's private fields.
    for username in ("a_manager", "b_manager", "reg_manager", "grid2_manager"):
        assert api_client(username).get("/api/piles/PILE-A2/").json()["public"] is False, username
    assert api_client("b_manager").get("/api/piles/PILE-A1/").json()["public"] is True

    response = client.patch("/api/piles/PILE-A2/", {"public": True}, format="json")
    assert response.status_code == 202, response.content
    commit_all()
    assert_applied(response.json()["tx_id"])
    assert Pile.objects.get(code="PILE-A2").public is True


def test_form_encoded_requests_send_the_words_and_leaving_it_out_is_public(world, api_client):
    client = api_client("a_manager")
    for code, extra, expected in (("PILE-F1", {"public": "false"}, False), ("PILE-F2", {}, True)):
        response = client.post("/api/piles/", {**NEW_PILE, "code": code, **extra}, format="multipart")
        assert response.status_code == 202, response.content
        commit_all()
        assert Pile.objects.get(code=code).public is expected, code
    # A PUT that leaves it out leaves it as it is.
    put = {**NEW_PILE, "code": "PILE-F1", "rated_power_kw": "11.0", "accuracy_class": 2}
    response = client.put("/api/piles/PILE-F1/", put, format="multipart")
    assert response.status_code == 202, response.content
    commit_all()
    pile = Pile.objects.get(code="PILE-F1")
    assert (pile.public, str(pile.rated_power_kw)) == (False, "11.0")


@pytest.mark.parametrize("value", ["false", 0, 1, None, "yes"], ids=repr)
def test_the_api_refuses_anything_but_a_boolean_and_sends_nothing(world, api_client, value):
    client = api_client("a_manager")
    before = counts()
    error = assert_error_body(client.post("/api/piles/", {**NEW_PILE, "public": value}, format="json"), 400, "public")
    assert error["fields"]["public"] == ["Must be true or false."]
    error = assert_error_body(client.patch("/api/piles/PILE-A1/", {"public": value}, format="json"), 400, "public")
    assert error["fields"]["public"] == ["Must be true or false."]
    assert counts() == before
    assert not Pile.objects.filter(code="PILE-A2").exists() and Pile.objects.get(code="PILE-A1").public is True


def test_the_api_filters_by_the_flag(world, api_client):
    register_dedicated()
    client = api_client("reg_manager")

    def codes(**params):
        response = client.get("/api/piles/", params)
        assert response.status_code == 200, response.content
        return {row["code"] for row in response.json()["results"]}

    assert codes(public="false") == {"PILE-DEPOT"}
    assert codes(public="true") == {"PILE-A1", "PILE-B1"}
    assert codes(public="false", operator="OP-B") == set()
    assert codes() == {"PILE-A1", "PILE-B1", "PILE-DEPOT"}
    for bad in ("yes", "0", "maybe"):
        error = assert_error_body(client.get("/api/piles/", {"public": bad}), 400, "public")
        assert error["fields"]["public"] == ["Must be true or false."], bad


def test_the_schema_describes_the_flag_and_its_filter(world, api_client):
    schema = api_client("a_manager").get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    [parameter] = [p for p in schema["paths"]["/api/piles/"]["get"]["parameters"] if p["name"] == "public"]
    assert parameter["in"] == "query" and parameter["schema"]["type"] == "boolean"
    assert schema["components"]["schemas"]["Pile"]["properties"]["public"]["type"] == "boolean"


# --- the pages --------------------------------------------------------------------------------------

PILE_FORM = {"station": "ST-A", "code": "PILE-A2", "kind": "ac", "rated_power_kw": "7", "accuracy_class": "2",
             "status": "planned"}


def test_the_form_registers_a_dedicated_pile_and_the_page_says_so(world, user_client):
    client = user_client("a_manager")
    form = client.get("/registry/piles/new/").content.decode()
    assert 'type="checkbox" name="public"' in form and "checked" in form.split('name="public"', 1)[1].split(">")[0]
    # An unticked box is not sent: a dedicated pile.
    tx_id = tx_redirect(client.post("/registry/piles/new/", PILE_FORM), "/registry/piles/PILE-A2/")
    commit_all()
    assert_applied(tx_id)
    assert Pile.objects.get(code="PILE-A2").public is False
    page = client.get("/registry/piles/PILE-A2/").content.decode()
    assert '<dd data-field="public">No: dedicated' in page
    assert '<dd data-field="public">Yes: open to any driver</dd>' in client.get("/registry/piles/PILE-A1/").content.decode()

    tx_id = tx_redirect(client.post("/registry/piles/PILE-A2/edit/", {**PILE_FORM, "public": "on"}),
                        "/registry/piles/PILE-A2/")
    [block] = commit_all()
    assert assert_applied(tx_id) == block.height
    pile = Pile.objects.get(code="PILE-A2")
    assert (pile.public, pile.height) == (True, block.height)


def test_the_piles_page_filters_by_the_flag(world, user_client):
    register_dedicated()
    client = user_client("reg_manager")

    def listed(params):
        response = client.get("/registry/piles/", params)
        assert response.status_code == 200
        content = response.content.decode()
        return {code for code in ("PILE-A1", "PILE-B1", "PILE-DEPOT") if f"/registry/piles/{code}/" in content}

    page = client.get("/registry/piles/").content.decode()
    assert 'name="public"' in page and '<option value="false">No</option>' in page
    assert listed({"public": "false"}) == {"PILE-DEPOT"}
    assert listed({"public": "true"}) == {"PILE-A1", "PILE-B1"}
    assert listed({"public": "true", "operator": "OP-B"}) == {"PILE-B1"}
    assert listed({}) == {"PILE-A1", "PILE-B1", "PILE-DEPOT"}
    # A value that is neither says so on the page rather than passing for an answer.
    response = client.get("/registry/piles/", {"public": "maybe"})
    assert response.context["filter"].errors == {"public": ["Must be true or false."]}
    assert "Must be true or false." in response.content.decode()


def test_the_piles_page_speaks_chinese_about_the_flag(world, user_client):
    register_dedicated()
    client = user_client("a_manager")
    page = client.get("/registry/piles/PILE-DEPOT/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "公共桩" in page and "否：专用" in page
