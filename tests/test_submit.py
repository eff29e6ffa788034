"""The one submit function (core.submit) and the one error family (core.errors), mapped once each to
the API's error body, to forms and to pages."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from core.api.errors import exception_handler
from core.errors import NodeNotReady, NotPermitted, Refused, ServiceError
from core.forms import add_service_errors, service_error_text
from core.submit import submit
from ledger.models import Submission, TxStatus
from ledger.runtime import node
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The refusals are translated: read them in English, whatever an earlier test left active."""
    with translation.override("en"):
        yield


def test_a_submission_is_signed_for_the_institution_and_queued(world):
    actor = world.users["a_manager"]
    submission = submit(type="registry.pile_retire", payload={"code": "PILE-A1", "reason": "replaced"},
                        institution=world.institutions["OP-A"], actor=actor)
    assert submission.status == TxStatus.PENDING
    assert submission.body["signer"] == "node:OP-A"
    assert submission.submitted_by == actor
    commit_all()
    assert Submission.objects.get(tx_id=submission.tx_id).status == TxStatus.APPLIED


def test_the_contract_refusal_in_the_dry_run_is_refused_on_the_field_the_caller_names(world):
    before = Submission.objects.count()
    with pytest.raises(Refused) as caught:  # a metrology institute may not retire an operator's pile
        submit(type="registry.pile_retire", payload={"code": "PILE-A1"}, institution="METRO", field="pile")
    assert list(caught.value.message_dict) == ["pile"]
    assert caught.value.reason == "METRO may not act for OP-A's pile"
    assert isinstance(caught.value, ValidationError)  # forms and Django's own handling see a ValidationError
    assert Submission.objects.count() == before  # nothing queued


def test_a_contract_field_error_in_the_dry_run_keeps_its_field(world):
    submit(type="registry.pile_retire", payload={"code": "PILE-A1"}, institution="OP-A")
    commit_all()
    with pytest.raises(Refused) as caught:
        submit(type="registry.pile_retire", payload={"code": "PILE-A1"}, institution="OP-A")
    assert caught.value.message_dict == {"status": ["This pile is already retired."]}


def test_an_institution_this_node_does_not_sign_for_is_not_permitted(world):
    from ledger import node_keys

    (node_keys.keys_dir() / node_keys.HOSTED_DIR / "OP-B.pem").unlink()
    node.reset_caches()
    with pytest.raises(NotPermitted) as caught:
        submit(type="registry.pile_retire", payload={"code": "PILE-B1"}, institution="OP-B")
    assert isinstance(caught.value, PermissionDenied)
    assert "OP-B" in caught.value.reason


def test_a_node_outside_any_consortium_is_not_ready(world, settings, tmp_path):
    settings.LEDGER_CONSORTIUM_FILE = tmp_path / "missing.json"
    node.reset_caches()
    with pytest.raises(NodeNotReady) as caught:
        submit(type="registry.pile_retire", payload={"code": "PILE-A1"}, institution="OP-A")
    assert "not part of a consortium" in caught.value.reason


# --- mapped once: the API ------------------------------------------------------------------------

def test_the_api_answers_each_member_of_the_family_with_its_status_and_code():
    refused = exception_handler(Refused("already closed", field="period"), {})
    assert refused.status_code == 400
    assert refused.data["error"]["fields"] == {"period": ["already closed"]}
    denied = exception_handler(NotPermitted("node OP-A does not sign for OP-B"), {})
    assert (denied.status_code, denied.data["error"]["code"]) == (403, "permission_denied")
    assert denied.data["error"]["detail"] == "node OP-A does not sign for OP-B"
    unready = exception_handler(NodeNotReady("no consortium definition"), {})
    assert (unready.status_code, unready.data["error"]["code"]) == (503, "not_configured")
    assert unready.data["error"]["detail"] == "no consortium definition"


# --- mapped once: forms and messages ---------------------------------------------------------------

class _AreaForm(forms.Form):
    area = forms.CharField(required=False)


def test_a_form_shows_a_refusal_on_its_field_or_at_the_top():
    form = _AreaForm({"area": "AREA-1"})
    assert form.is_valid()
    add_service_errors(form, Refused("GRID-2 does not own AREA-1", field="area"))
    assert form.errors["area"] == ["GRID-2 does not own AREA-1"]
    form = _AreaForm({"area": "AREA-1"})
    form.is_valid()
    add_service_errors(form, Refused("the block refused it", field="not_a_field"))
    assert form.non_field_errors() == ["the block refused it"]
    assert service_error_text(Refused({"a": ["one"], "b": ["two"]})) == "one; two"


def test_every_member_of_the_family_reads_as_its_reason():
    for error in (Refused("r", field="f"), Refused("r"), NotPermitted("r"), NodeNotReady("r")):
        assert isinstance(error, ServiceError)
        assert str(error) == error.reason == "r"


# --- mapped once: pages ----------------------------------------------------------------------------

def test_a_page_write_on_a_node_outside_any_consortium_answers_the_503_page(world, user_client, settings, tmp_path):
    from registry.models import DeviceKey

    key = DeviceKey.objects.filter(pile__code="PILE-A1").first()
    client = user_client("a_manager")
    settings.LEDGER_CONSORTIUM_FILE = tmp_path / "missing.json"
    node.reset_caches()
    before = Submission.objects.count()
    response = client.post(f"/registry/keys/{key.fingerprint}/revoke/", {"reason": "lost"})
    assert Submission.objects.count() == before
    assert response.status_code == 503
    assert "not part of a consortium" in response.content.decode()
