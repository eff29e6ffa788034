"""The OCPP-J central system's websocket: one consumer per connected charge point.

Each received frame is checked for what the `ocpp` library would only log (not JSON, not an RPC
frame, unknown message type or action), answered with a CALLERROR if so, and otherwise routed
through the library, which validates it against the version's schema and calls our handler. The
library's output goes out through this consumer. Remote commands arrive from the channel layer and
run as separate tasks, so the socket keeps reading while a call waits for the pile's answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from ocpp.exceptions import OCPPError
from redis.exceptions import RedisError

from gateway import commands, events, frames
from gateway.central import CentralSystem16, CentralSystem201
from gateway.dbthreads import db
from gateway.conf import max_frame_bytes

logger = logging.getLogger("pilechain.gateway")

PROTOCOLS = {"ocpp2.0.1": CentralSystem201, "ocpp1.6": CentralSystem16}
PREFERENCE = ("ocpp2.0.1", "ocpp1.6")
MESSAGE_TOO_BIG = 1009


def basic_credentials(headers) -> tuple[str | None, str | None]:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, encoded = value.decode("latin1").partition(" ")
            if scheme.lower() != "basic":
                return None, None
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None, None
            user, sep, password = decoded.partition(":")
            return (user, password) if sep else (None, None)
    return None, None


class _Connection:
    """What the library calls `connection`: it only ever sends through it."""

    def __init__(self, consumer: "OcppConsumer"):
        self.consumer = consumer

    async def send(self, message: str) -> None:
        await self.consumer.send(text_data=frames.respelled(message, self.consumer.protocol))

    async def recv(self):  # the consumer feeds frames; the library never reads by itself
        raise RuntimeError("frames are routed by the consumer")


class _SteadyLayer:
    """The channel layer as the consumer sees it: a Redis hiccup while waiting for commands is
    retried instead of ending the consumer (which would drop the pile's socket)."""

    def __init__(self, layer):
        self._layer = layer

    def __getattr__(self, name):
        return getattr(self._layer, name)

    async def receive(self, channel):
        delay = 0.5
        while True:
            try:
                return await self._layer.receive(channel)
            except (RedisError, OSError) as exc:
                logger.warning("channel layer receive failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)


class OcppConsumer(AsyncWebsocketConsumer):
    pile_code: str | None = None
    protocol: str = ""
    central = None
    _layer = None

    @property
    def channel_layer(self):
        return self._layer

    @channel_layer.setter
    def channel_layer(self, layer):
        self._layer = _SteadyLayer(layer) if layer is not None else None

    async def connect(self):
        self.tasks: set[asyncio.Task] = set()
        charge_point_id = self.scope["url_route"]["kwargs"]["charge_point_id"]
        offered = self.scope.get("subprotocols") or []
        protocol = next((p for p in PREFERENCE if p in offered), None)
        if protocol is None:
            logger.info("refused %s: no supported subprotocol in %s", charge_point_id, offered)
            await self.close()
            return
        user, password = basic_credentials(self.scope.get("headers", []))
        pile_code = await db(events.authenticate)(charge_point_id, user, password)
        if pile_code is None:
            logger.warning("refused %s: unknown pile or wrong credentials", charge_point_id)
            await self.close()
            return
        self.pile_code, self.protocol = pile_code, protocol
        # A pile has one connection: an older one (a pile that reconnected before its old socket
        # timed out) is closed, on whichever process holds it.
        await self.channel_layer.group_send(commands.group_name(pile_code), {"type": "gateway.replaced"})
        evse_of, self.connected_at = await db(events.connected)(pile_code, protocol)
        self.central = PROTOCOLS[protocol](pile_code, _Connection(self), evse_of)
        self.handled = set(self.central.route_map)
        await self.channel_layer.group_add(commands.group_name(pile_code), self.channel_name)
        await self.accept(subprotocol=protocol)
        logger.info("%s connected with %s", pile_code, protocol)

    async def disconnect(self, code):
        if self.pile_code is None:
            return
        for task in list(getattr(self, "tasks", ())):
            task.cancel()
        await self.channel_layer.group_discard(commands.group_name(self.pile_code), self.channel_name)
        await db(events.disconnected)(self.pile_code, self.connected_at)
        logger.info("%s disconnected (%s)", self.pile_code, code)

    async def receive(self, text_data=None, bytes_data=None):
        if self.central is None:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > max_frame_bytes():
            logger.warning("%s sent a frame of %d bytes; closing with 1009", self.pile_code, size)
            await self.close(code=MESSAGE_TOO_BIG)
            return
        if text_data is None:
            await self.send(text_data=frames.framework_error(self.protocol, "-1", "OCPP-J frames are text").to_json())
            return
        error = frames.check(text_data, self.protocol, self.handled)
        if error is frames.DROP:
            logger.warning("%s sent a malformed answer: %.200s", self.pile_code, text_data)
            return
        if error is not None:
            logger.warning("%s: %s %s: %.200s", self.pile_code, error.code, error.description, text_data)
            await self.send(text_data=error.to_json())
            return
        try:
            await self.central.route_message(text_data)
        except Exception:  # never let one frame take the connection down
            logger.exception("%s: frame not handled: %.200s", self.pile_code, text_data)
            frame = json.loads(text_data)  # frames.check has parsed it once already
            if frame[0] == 2:
                await self.send(text_data=frames.FrameError(frame[1], "InternalError", "internal error").to_json())

    async def gateway_replaced(self, message):
        logger.info("%s reconnected elsewhere; closing this connection", self.pile_code)
        await self.close(code=1000)

    # --- remote commands (from gateway.commands, through the channel layer) ----------------------
    async def gateway_command(self, message):
        task = asyncio.create_task(self._run_command(message))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_command(self, message):
        status, response = "answered", {}
        try:
            request = commands.build_call(self.protocol, message["action"], message["params"], self.central.evse_of)
            result = await self.central.call(request, suppress=False)
            status, response = commands.answer_of(result)
        except asyncio.TimeoutError:
            status, response = "timeout", {"detail": "the pile did not answer"}
        except OCPPError as exc:
            status, response = "refused", {"error": getattr(exc, "code", "GenericError"), "detail": str(exc.description)}
        except Exception as exc:  # a bad answer from the pile must not kill the socket
            logger.exception("%s: command %s failed", self.pile_code, message.get("action"))
            status, response = "refused", {"error": "InternalError", "detail": str(exc)[:200]}
        await self.channel_layer.send(message["reply_to"], {"type": "gateway.reply", "status": status, "response": response})
