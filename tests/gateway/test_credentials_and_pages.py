"""Charge-point passwords: set by the operator's staff (service, page, API), stored hashed, shown
once; the pages and API show only the operator's piles."""

import pytest

from tests.gateway.conftest import PASSWORD_A1

pytestmark = pytest.mark.django_db


def test_password_is_stored_hashed_and_checked(gateway_world):
    from gateway import events
    from gateway.models import ChargePointCredential

    stored = ChargePointCredential.objects.get(pile_code="PILE-A1")
    assert PASSWORD_A1 not in stored.password_hash and stored.set_by.username == "a_manager"
    assert events.authenticate("PILE-A1", "PILE-A1", PASSWORD_A1) == "PILE-A1"
    assert events.authenticate("pile-a1", "pile-a1", PASSWORD_A1) == "PILE-A1"  # codes are case-insensitive
    assert events.authenticate("PILE-A1", "PILE-A1", PASSWORD_A1 + "x") is None
    assert events.authenticate("PILE-A1", "PILE-B1", PASSWORD_A1) is None
    assert events.authenticate("PILE-A1", None, None) is None


def test_api_sets_a_generated_password_once_and_refuses_others(gateway_world, api_client):
    from gateway import events
    from gateway.models import ChargePointCredential

    response = api_client("a_manager").post("/api/gateway/piles/PILE-A1/credential/", {}, format="json")
    assert response.status_code == 201
    password = response.json()["password"]
    assert len(password) == 32 and events.authenticate("PILE-A1", "PILE-A1", password) == "PILE-A1"
    assert events.authenticate("PILE-A1", "PILE-A1", PASSWORD_A1) is None  # the old one is gone
    assert "gw-sha256$" in ChargePointCredential.objects.get(pile_code="PILE-A1").password_hash
    detail = api_client("a_viewer").get("/api/gateway/piles/PILE-A1/").json()
    assert detail["credential"]["set_by"] == "a_manager" and "password" not in str(detail)
    short = api_client("a_manager").post("/api/gateway/piles/PILE-A1/credential/", {"password": "short"}, format="json")
    assert short.status_code == 400
    assert api_client("a_viewer").post("/api/gateway/piles/PILE-A1/credential/", {}, format="json").status_code == 403
    assert api_client("b_manager").post("/api/gateway/piles/PILE-A1/credential/", {}, format="json").status_code == 404
    assert api_client(None).post("/api/gateway/piles/PILE-A1/credential/", {}, format="json").status_code in (401, 403)
    assert events.authenticate("PILE-A1", "PILE-A1", password) == "PILE-A1"
    assert api_client("a_manager").delete("/api/gateway/piles/PILE-A1/credential/").status_code == 204
    assert events.authenticate("PILE-A1", "PILE-A1", password) is None


def test_page_sets_a_chosen_password_and_shows_it_once(gateway_world, user_client):
    from gateway import events

    client = user_client("a_manager")
    page = client.get("/gateway/piles/PILE-A1/")
    assert page.status_code == 200 and b"Set password" in page.content
    chosen = "my-own-chosen-password-1"
    response = client.post("/gateway/piles/PILE-A1/credential/", {"password": chosen})
    assert response.status_code == 200 and chosen.encode() in response.content
    assert events.authenticate("PILE-A1", "PILE-A1", chosen) == "PILE-A1"
    assert chosen.encode() not in client.get("/gateway/piles/PILE-A1/").content
    bad = client.post("/gateway/piles/PILE-A1/credential/", {"password": "tiny"})
    assert bad.status_code == 400
    assert user_client("a_viewer").post("/gateway/piles/PILE-A1/credential/", {"password": chosen}).status_code == 403
    assert user_client("b_manager").get("/gateway/piles/PILE-A1/").status_code == 404
    viewer_page = user_client("a_viewer").get("/gateway/piles/PILE-A1/")
    assert viewer_page.status_code == 200 and b"Set password" not in viewer_page.content


def test_lists_show_only_the_operators_piles(gateway_world, api_client, user_client):
    from gateway import events

    events.connected("PILE-A1", "ocpp1.6")
    events.connected("PILE-B1", "ocpp2.0.1")
    assert [p["pile_code"] for p in api_client("a_viewer").get("/api/gateway/piles/").json()] == ["PILE-A1"]
    assert [p["pile_code"] for p in api_client("b_manager").get("/api/gateway/piles/").json()] == ["PILE-B1"]
    assert api_client("grid_manager").get("/api/gateway/piles/").json() == []
    page = user_client("b_manager").get("/gateway/").content.decode()
    assert "PILE-B1" in page and "PILE-A1" not in page and "ocpp2.0.1" in page
    assert user_client(None).get("/gateway/").status_code == 302
