"""Third-party API tokens: an institution's token sees what that institution sees, nothing more."""

import pytest
from rest_framework.test import APIClient

from registry import services
from registry.models import ApiToken, Pile, User
from tests.registry.expectations import PILES, PRIVATE_PILES
from tests.registry.ledger_checks import assert_accepted, assert_applied, counts
from tests.utils.cases import assert_error_body
from tests.utils.ledger import commit_all

pytestmark = pytest.mark.django_db


def test_token_sees_what_its_institution_sees(world, token_client):
    for manager, peer in (("b_manager", "b_manager"), ("grid_manager", "grid_manager"), ("reg_manager", "reg_manager")):
        client = token_client(manager)
        rows = client.get("/api/piles/").json()["results"]
        assert {row["code"] for row in rows} == PILES
        assert {row["code"] for row in rows if "vendor" in row} == PRIVATE_PILES[peer], manager
        boxes = {row["serial"] for row in client.get("/api/test-boxes/").json()["results"]}
        assert boxes == ({"TB-1", "TB-2"} if manager == "reg_manager" else set())


def test_bearer_keyword_is_accepted(world, token_client):
    assert token_client("a_manager", keyword="Bearer").get("/api/piles/").status_code == 200


def test_only_the_hash_is_stored(world, token_client):
    client = token_client("a_manager")
    token = ApiToken.objects.get()
    assert client.token_key not in (token.key_sha256, token.prefix)
    assert client.token_key.startswith(token.prefix)
    assert token.user.institution.code == "OP-A" and not token.user.has_usable_password()


def test_viewer_token_cannot_write_and_manager_token_can(world, token_client):
    payload = {"station": "ST-A", "code": "PILE-T1", "kind": "ac", "rated_power_kw": "7.0"}
    viewer = token_client("a_manager")
    before = counts()
    assert_error_body(viewer.post("/api/piles/", payload, format="json"), 403)
    assert counts() == before
    manager = token_client("a_manager", staff_role="manager")
    body = assert_accepted(manager.post("/api/piles/", payload, format="json"))
    commit_all()
    assert assert_applied(body["tx_id"]) == Pile.objects.get(code="PILE-T1").height
    assert manager.get(body["object"]).json()["station"] == "ST-A"
    # The transaction was sent for the token's service account, signed for its institution.
    from ledger.models import Submission

    submission = Submission.objects.get(tx_id=body["tx_id"])
    assert submission.submitted_by == ApiToken.objects.get(revoked_at=None, user__staff_role="manager").user
    assert submission.body["signer"] == "node:OP-A"
    # ...but only within its institution.
    payload = {**payload, "station": "ST-B", "code": "PILE-T2"}
    before = counts()
    assert_error_body(manager.post("/api/piles/", payload, format="json"), 403)
    assert counts() == before
    assert not Pile.objects.filter(code="PILE-T2").exists()


def test_bad_and_revoked_tokens_get_401(world, token_client):
    for header in ("Token nonsense", "Bearer ", "Token a b", "Token pct_" + "x" * 43):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/piles/")
        assert response.status_code == 401, header
        assert response.json()["error"]["status"] == 401
    client = token_client("a_manager")
    token = ApiToken.objects.get()
    assert client.get("/api/piles/").status_code == 200
    services.api_token_revoke(actor=User.objects.get(username="a_manager"), token=token)
    assert client.get("/api/piles/").status_code == 401


def test_last_used_is_recorded(world, token_client):
    client = token_client("a_manager")
    assert ApiToken.objects.get().last_used_at is None
    client.get("/api/piles/")
    assert ApiToken.objects.get().last_used_at is not None


def test_who_may_issue_tokens(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=User.objects.get(username="a_viewer"), name="nope")
    with pytest.raises(PermissionDenied):
        services.api_token_create(actor=User.objects.get(username="a_manager"), name="nope", institution="OP-B")
    token, _ = services.api_token_create(actor=User.objects.get(username="admin"), name="ops", institution="OP-B")
    assert token.institution.code == "OP-B"
    with pytest.raises(PermissionDenied):
        services.api_token_revoke(actor=User.objects.get(username="a_manager"), token=token)


def test_token_page_shows_key_once_and_revokes(world, user_client):
    client = user_client("a_manager")
    response = client.post("/registry/tokens/", {"name": "Map provider", "staff_role": "viewer"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    content = response.content.decode()
    assert 'id="new-token-key"' in content and token.prefix in content
    assert 'id="new-token-key"' not in client.get("/registry/tokens/").content.decode()
    # Other institutions' managers do not see it; viewers have no token page.
    assert token.prefix not in user_client("b_manager").get("/registry/tokens/").content.decode()
    assert user_client("a_viewer").get("/registry/tokens/").status_code == 403
    assert user_client("b_manager").post(f"/registry/tokens/{token.prefix}/revoke/").status_code == 404
    client.post(f"/registry/tokens/{token.prefix}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.user.is_active
