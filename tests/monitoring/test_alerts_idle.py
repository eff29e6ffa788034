"""An idle alert subscriber stays connected in embedded mode (issue #15): the websocket is held
120 s without a message either way over a live uvicorn whose channel layer uses an embedded Redis
server on a unix socket, as a node without REDIS_URL does; then a fault's alert still arrives.

Slow on purpose (about 125 s): marked `slow` and run once in CI, whatever the suite's own Redis is.
With redis-py's default 5 s read timeout on the channel layer's connections (before
config.channel_layer), the connection dropped 5.0 s after the subscriber went idle."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from config import embedded_redis
from config.channel_layer import channel_layers
from tests.gateway.live import live_server
from tests.monitoring.test_alerts_live import fault, new_token, next_alert, subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

IDLE_S = 120


@pytest.fixture
def embedded_channel_layer(settings, tmp_path_factory):
    """The channel layer on an embedded Redis server of this test's own, built as settings.py builds
    it for a node without REDIS_URL."""
    var_dir = tmp_path_factory.mktemp("embedded")
    sock = embedded_redis.ensure_running(var_dir)
    settings.CHANNEL_LAYERS = channel_layers(f"unix://{sock}?db=0", prefix="pilechain:idle-test:")
    yield sock
    embedded_redis.stop(var_dir)


def test_idle_subscriber_still_receives_an_alert(world, embedded_channel_layer):
    token = new_token("a_manager")

    async def scenario(url):
        ws = await subscribe(url, f"/ws/alerts/?token={token}")
        started = time.monotonic()
        try:
            message = await asyncio.wait_for(ws.recv(), IDLE_S)
        except asyncio.TimeoutError:
            pass  # nothing came and the connection held: what an idle subscriber expects
        except websockets.exceptions.ConnectionClosed as closed:
            pytest.fail(f"the idle websocket was dropped after {time.monotonic() - started:.1f} s: {closed!r}")
        else:
            pytest.fail(f"an idle subscriber was sent {message!r}")
        await sync_to_async(fault)()
        alert = await next_alert(ws)
        assert (alert["pile"], alert["phase"]) == ("PILE-A1", "reported")
        await ws.close()

    with live_server() as url:
        asyncio.run(scenario(url))
