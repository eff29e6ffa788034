"""The channel layer as settings build it (config.channel_layer), on this test run's Redis (embedded
or REDIS_URL): a receive that is cancelled, at whatever point of its connection's setup, ends. With a
client-side socket_timeout redis-py sends through asyncio.wait_for, which on Python 3.11 swallows a
cancellation arriving as the send completes: the consumer of a closed websocket kept polling for
ever (and its web server could not stop)."""

from __future__ import annotations

import asyncio

from channels_redis.core import RedisChannelLayer
from django.conf import settings

from config.channel_layer import channel_layers


def test_a_cancelled_receive_ends_whenever_it_is_cancelled():
    config = channel_layers(settings.REDIS_URL, prefix="pilechain:cancel-test:")["default"]["CONFIG"]

    async def cancelled_after(spins: int) -> bool:
        layer = RedisChannelLayer(**config)  # a new connection each time: cancelled during its setup
        channel = await layer.new_channel()
        task = asyncio.ensure_future(layer.receive(channel))
        for _ in range(spins):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=3)
        await layer.close_pools()
        return bool(done)

    async def scenario():
        return {spins: await cancelled_after(spins) for spins in range(16)}

    ended = asyncio.run(scenario())
    assert all(ended.values()), f"receives still running after their cancel, by spins: {ended}"
