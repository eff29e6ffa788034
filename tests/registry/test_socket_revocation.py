"""Open websockets close within seconds when their principal loses its right: a revoked token, a
deactivated user, a session that logs out (registry.sockets); real clients on a live server."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.test import Client

from tests.gateway.live import live_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def session_cookie(client: Client) -> str:
    return f"sessionid={client.cookies['sessionid'].value}"


async def opened(url: str, path: str, **kwargs):
    ws = await websockets.connect(url + path, origin=url.replace("ws://", "http://"), open_timeout=10, **kwargs)
    if "alerts" in path or "live" in path:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "subscribed"
    return ws


async def closed_with(ws, seconds: float = 5.0) -> int | None:
    """The close code the server sent within `seconds`, or None if the socket stayed open."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    except asyncio.TimeoutError:
        return None


def test_a_revoked_token_closes_its_sockets_and_only_its(world):
    from registry import services
    from registry.models import ApiToken

    manager = world.users["a_manager"]
    _, revoked_key = services.api_token_create(actor=manager, name="to revoke")
    _, kept_key = services.api_token_create(actor=manager, name="to keep")

    async def scenario(url):
        alerts = await opened(url, f"/ws/alerts/?token={revoked_key}")
        live = await opened(url, f"/ws/live/?token={revoked_key}")
        kept = await opened(url, f"/ws/alerts/?token={kept_key}")
        token = await sync_to_async(ApiToken.objects.get)(name="to revoke")
        await sync_to_async(services.api_token_revoke)(actor=manager, token=token)
        assert await closed_with(alerts) == 4401
        assert await closed_with(live) == 4401
        assert await closed_with(kept, 1.0) is None  # another token's socket stays
        await kept.close()

    with live_server() as url:
        asyncio.run(scenario(url))


def test_logging_out_closes_that_sessions_sockets_and_deactivating_closes_the_users(world):
    browser, other_browser, other_user = Client(), Client(), Client()
    browser.force_login(world.users["reg_manager"])
    other_browser.force_login(world.users["reg_manager"])
    other_user.force_login(world.users["grid_manager"])

    async def scenario(url):
        headers = {"Cookie": session_cookie(browser)}
        ping = await opened(url, "/ws/ping/", additional_headers=headers)
        alerts = await opened(url, "/ws/alerts/", additional_headers=headers)
        elsewhere = await opened(url, "/ws/alerts/", additional_headers={"Cookie": session_cookie(other_browser)})
        grid = await opened(url, "/ws/live/", additional_headers={"Cookie": session_cookie(other_user)})
        response = await sync_to_async(browser.post)("/accounts/logout/")
        assert response.status_code in (200, 302)
        assert await closed_with(ping) == 4401
        assert await closed_with(alerts) == 4401
        assert await closed_with(elsewhere, 1.0) is None  # the same user's other session stays

        def deactivate():
            user = world.users["reg_manager"]
            user.is_active = False
            user.save()

        await sync_to_async(deactivate)()
        assert await closed_with(elsewhere) == 4401
        assert await closed_with(grid, 1.0) is None
        await grid.close()
        # A deactivated user's session cannot open a new one either.
        with pytest.raises(websockets.InvalidStatus):
            await opened(url, "/ws/alerts/", additional_headers={"Cookie": session_cookie(other_browser)})

    with live_server() as url:
        asyncio.run(scenario(url))
