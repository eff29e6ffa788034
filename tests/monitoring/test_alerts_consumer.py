"""The alerts consumer on its own (channels' communicator): its own Origin check, so the route may
also be served outside the site's origin validator for token clients."""

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from monitoring.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)
application = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))


def cookie_for(user):
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def test_session_needs_same_origin_token_does_not(world):
    from registry import services

    cookie = cookie_for(world.users["a_manager"])
    _, key = services.api_token_create(actor=world.users["a_manager"], name="consumer test")

    async def scenario():
        evil = [(b"cookie", cookie), (b"origin", b"https://evil.example")]
        communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=evil)
        connected, code = await communicator.connect()
        assert not connected and code == 4403

        # Another port of the same host is another origin.
        other_port = [(b"cookie", cookie), (b"host", b"localhost:8001"), (b"origin", b"http://localhost:8002")]
        communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=other_port)
        connected, code = await communicator.connect()
        assert not connected and code == 4403

        own = [(b"cookie", cookie), (b"host", b"localhost:8001"), (b"origin", b"http://localhost:8001")]
        communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=own)
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from())["type"] == "subscribed"
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from() == {"type": "pong"}
        assert await communicator.receive_nothing()
        await communicator.disconnect()

        communicator = WebsocketCommunicator(application, f"/ws/alerts/?token={key}",
                                             headers=[(b"origin", b"https://elsewhere.example")])
        connected, _ = await communicator.connect()
        assert connected
        await communicator.disconnect()

        communicator = WebsocketCommunicator(application, "/ws/alerts/?piles=A&colour=red", headers=own)
        connected, code = await communicator.connect()
        assert not connected and code == 4400

    async_to_sync(scenario)()
