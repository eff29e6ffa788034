"""The channel layer's settings (websocket groups over Redis), built in one place for settings.py
and for the tests that point it at another server.

channels_redis waits for a consumer's messages with BZPOPMIN and a server-side timeout of
`brpop_timeout` (5 s); an idle wait ends with the server's nil reply, sent when its clock tick
(`hz`, 10 per second) sees the timeout expired: 5.00-5.10 s after the command. redis-py gives every
connection a read timeout (`socket_timeout`) of 5 s unless told otherwise, so an idle subscriber's
read gave up first: `redis.exceptions.TimeoutError: Timeout reading from ...`, raised out of the
consumer, and the websocket was dropped without a close frame. The read timeout here is the
blocking wait plus a margin, so only a server that really stopped answering times a read out.
"""

from __future__ import annotations

BACKEND = "channels_redis.core.RedisChannelLayer"
# channels_redis.core.RedisChannelLayer.brpop_timeout: how long one blocking pop waits on the server.
BLOCKING_POP_S = 5
# How late the server's answer to a blocking pop may be before the read counts as failed.
READ_MARGIN_S = 10


def channel_layers(redis_url: str, prefix: str) -> dict:
    """CHANNEL_LAYERS for a Redis URL (redis://host:port/db or unix:///path.sock?db=N)."""
    host = {
        "address": redis_url,
        "socket_timeout": BLOCKING_POP_S + READ_MARGIN_S,
        "socket_connect_timeout": BLOCKING_POP_S,
    }
    return {"default": {"BACKEND": BACKEND, "CONFIG": {"hosts": [host], "prefix": prefix}}}
