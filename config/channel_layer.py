"""The channel layer's settings (websocket groups over Redis), built in one place for settings.py
and for the tests that point it at another server.

channels_redis waits for a consumer's messages with BZPOPMIN and a server-side timeout of
`brpop_timeout` (5 s); an idle wait ends with the server's nil reply, sent when its clock tick
(`hz`, 10 per second) sees the timeout expired: 5.00-5.10 s after the command. redis-py gives every
connection a read timeout (`socket_timeout`) of 5 s unless told otherwise, so an idle subscriber's
read gave up first: `redis.exceptions.TimeoutError: Timeout reading from ...`, raised out of the
consumer, and the websocket was dropped without a close frame.

No client-side timeout at all, rather than a longer one: with any `socket_timeout` redis-py sends
each command through `asyncio.wait_for`, which on Python 3.11 swallows a cancellation that arrives
as the send completes (CPython gh-86296, fixed in 3.12). A consumer whose websocket closed while its
receive loop was (re)connecting then kept that loop running for ever, one BZPOPMIN every 5 s; the
old 5 s timeout only ended it by crashing it. Without the timeout the wait is bounded by the
server's own (the blocking pop), and a dead server still shows: a unix socket is closed with its
process, redis-py turns TCP keepalive on by default (a dead peer shows in about 45 s), and
connecting keeps its timeout.
"""

from __future__ import annotations

BACKEND = "channels_redis.core.RedisChannelLayer"
CONNECT_TIMEOUT_S = 5


def channel_layers(redis_url: str, prefix: str) -> dict:
    """CHANNEL_LAYERS for a Redis URL (redis://host:port/db or unix:///path.sock?db=N)."""
    host = {
        "address": redis_url,
        "socket_timeout": None,  # reads wait for the server; see the module's docstring
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
    }
    return {"default": {"BACKEND": BACKEND, "CONFIG": {"hosts": [host], "prefix": prefix}}}
