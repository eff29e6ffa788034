"""The second factor (TOTP) of managers and platform admins: adding an authenticator app, logging in
with its code, a node that requires it, and removing it (registry.two_factor)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/accounts/two-factor/"


@pytest.fixture(autouse=True)
def no_slowdown(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp slows repeated failures down; not under test here


def code(device: TOTPDevice, step: int = 0) -> str:
    """The device's code for the current 30 s step (+ `step`: a later one; a code is accepted once)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=step):06d}"


def login(username: str, token: str = "") -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD, "otp_token": token})
    client.status = response.status_code
    return client


def enrol(client: Client, user) -> TOTPDevice:
    page = client.get(PAGE)
    assert page.status_code == 200 and b"<svg" in page.content and b'id="two-factor-secret"' in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(PAGE, {"action": "confirm", "token": "000000"}).status_code == 200  # wrong: still pending
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert client.post(PAGE, {"action": "confirm", "token": code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_a_manager_adds_an_app_and_logs_in_with_its_code(world):
    manager = world.users["a_manager"]
    device = enrol(login("a_manager"), manager)
    # From now on the password alone is not enough; nor a wrong code.
    assert login("a_manager").status == 200
    assert login("a_manager", "123456").status == 200
    client = login("a_manager", code(device, step=1))
    assert client.status == 302 and client.get("/").status_code == 200
    # Others log in as before.
    assert login("a_viewer").status == 302


def test_only_managers_and_platform_admins_add_one(world):
    assert login("a_viewer").get(PAGE).status_code == 403
    assert login("admin").get(PAGE).status_code == 200
    assert login("reg_manager").get(PAGE).status_code == 200


def test_a_node_that_requires_it_lets_a_manager_reach_only_the_enrolment_page(world, settings):
    from registry import services

    settings.REQUIRE_SECOND_FACTOR = True
    manager = world.users["grid_manager"]
    _, key = services.api_token_create(actor=manager, name="2fa test")
    client = login("grid_manager")
    assert client.get("/").url == PAGE and client.get("/registry/piles/").url == PAGE
    refused = client.get("/api/piles/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "second_factor_required"
    assert Client().get("/api/piles/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200  # tokens are apart
    assert login("a_viewer").get("/").status_code == 200  # not a manager: not required
    device = enrol(client, manager)
    assert client.get("/").status_code == 200  # the session that added it is verified
    # A session logged in before (its code not given) verifies on the page.
    old = Client()
    old.force_login(manager)
    assert old.get("/").url == PAGE
    assert old.post(PAGE, {"action": "verify", "token": code(device, step=1)}).status_code == 302
    assert old.get("/").status_code == 200


def test_removing_it_takes_a_current_code(world):
    manager = world.users["metro_manager"]
    client = login("metro_manager")
    device = enrol(client, manager)
    client.post(PAGE, {"action": "remove", "token": "000000"})
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).exists()
    client.post(PAGE, {"action": "remove", "token": code(device, step=1)})
    assert not TOTPDevice.objects.filter(user=manager).exists()
    assert login("metro_manager").status == 302  # the password alone again


def test_django_admins_login_asks_for_the_code_too(world):
    admin_user = world.users["admin"]
    device = enrol(login("admin"), admin_user)
    client = Client()
    refused = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 200 and client.get("/admin/").status_code == 302  # not logged in
    client.post("/admin/login/?next=/admin/", {"username": "admin", "password": PASSWORD,
                                               "otp_token": code(device, step=1)})
    assert client.get("/admin/").status_code == 200
    # The password typed is not sent back with the form that asks for the code.
    again = Client().post("/accounts/login/", {"username": "admin", "password": PASSWORD}).content.decode()
    assert PASSWORD not in again


@pytest.mark.django_db(transaction=True)
def test_a_required_second_factor_holds_for_websockets_too(world, settings):
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    settings.REQUIRE_SECOND_FACTOR = True
    browser = Client()
    browser.force_login(world.users["grid_manager"])  # a password-only session
    headers = [(b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode()),
               (b"host", b"localhost"), (b"origin", b"http://localhost")]

    async def opens(path):
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(opens)("/ws/alerts/") is False
    assert async_to_sync(opens)("/ws/ping/") is False
    settings.REQUIRE_SECOND_FACTOR = False
    assert async_to_sync(opens)("/ws/ping/") is True
