"""A live ASGI server (uvicorn, in a thread of the test process so it shares the test database and
settings) and real OCPP clients connecting to it over websockets."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time

import uvicorn
import websockets

from tests.processes import free_port


@contextlib.contextmanager
def live_server(port: int | None = None):
    """A uvicorn on `port` (a free one by default; the same port again is a node's restart)."""
    from channels.layers import channel_layers

    from config.asgi import application

    # A production process has one event loop for its life; each test server has its own, so each
    # gets channel layer instances of its own (channels_redis binds receiving to one loop).
    channel_layers.backends.clear()
    port = port or free_port()
    config = uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        channel_layers.backends.clear()


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def connect(url: str, pile: str, password: str | None, protocol: str, **kwargs):
    headers = basic(pile, password) if password is not None else {}
    return await websockets.connect(
        f"{url}/ocpp/{pile}", subprotocols=[protocol], additional_headers=headers, open_timeout=10, **kwargs
    )


async def raw_call(ws, frame: str, timeout: float = 10) -> list:
    """Send one raw frame and read the next frame back, as JSON."""
    import json

    await ws.send(frame)
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def wait_for(predicate, timeout: float = 15, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
