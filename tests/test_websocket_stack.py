"""The websocket stack of config.asgi: authentication is required, messages route by type."""

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from django.contrib.auth import get_user_model
from django.test import Client


def _session_headers(user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"cookie", f"sessionid={cookie}".encode()), (b"host", b"localhost"), (b"origin", b"http://localhost")]


@pytest.mark.django_db(transaction=True)
def test_anonymous_websocket_is_refused():
    from asgiref.sync import async_to_sync

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/ping/",
                                             headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")])
        connected, code = await communicator.connect()
        assert not connected
        assert code == 4401

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_logged_in_user_gets_pong_and_nothing_more():
    from asgiref.sync import async_to_sync

    user = get_user_model().objects.create_user("ws-user", password="pw-123456789")
    headers = _session_headers(user)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
        connected, _ = await communicator.connect()
        assert connected
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from() == {"type": "pong", "user": "ws-user"}
        await communicator.send_json_to({"type": "nonsense"})
        assert (await communicator.receive_json_from())["type"] == "error"
        assert await communicator.receive_nothing()
        await communicator.disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused():
    from asgiref.sync import async_to_sync

    user = get_user_model().objects.create_user("ws-user2", password="pw-123456789")
    headers = [h for h in _session_headers(user) if h[0] != b"origin"] + [(b"origin", b"http://evil.example")]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
        connected, _ = await communicator.connect()
        assert not connected

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("host, origin, scheme, accepted", [
    (b"localhost:8001", b"http://localhost:8001", "ws", True),
    (b"localhost", b"http://localhost:80", "ws", True),  # default ports filled in
    (b"localhost:8001", b"http://localhost:8002", "ws", False),  # another port: another origin
    (b"localhost:8001", b"https://localhost:8001", "ws", False),  # another scheme
    (b"localhost", b"https://localhost", "wss", True),  # TLS (at the node or its trusted proxy)
    (b"localhost", b"http://localhost", "wss", False),
    (b"evil.example", b"http://evil.example", "ws", False),  # a host the node is not served at
    (b"localhost", b"null", "ws", False),
    (b"localhost", None, "ws", False),  # no Origin: not a page of this site
    (b"localhost:8001", b"https://portal.example", "ws", True),  # listed in CSRF_TRUSTED_ORIGINS
    (b"[::1]:8001", b"http://[::1]:8001", "ws", True),  # an IPv6 host
    (b"[::1]:8001", b"http://[::1]:8002", "ws", False),
])
def test_the_origin_is_compared_by_scheme_host_and_port(settings, host, origin, scheme, accepted):
    from asgiref.sync import async_to_sync

    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example"]
    user = get_user_model().objects.create_user("ws-origin", password="pw-123456789")
    headers = [h for h in _session_headers(user) if h[0] not in (b"origin", b"host")] + [(b"host", host)]
    if origin is not None:
        headers.append((b"origin", origin))

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
        communicator.scope["scheme"] = scheme
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(scenario)() is accepted
