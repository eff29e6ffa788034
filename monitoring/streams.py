"""The base of this node's websocket streams (alerts, the live fleet): who may subscribe, and how a
subscriber that reconnects gets what it missed from the stream's history (monitoring.history).

Authentication: the session (browsers), or an API token given as `?token=<key>`, as an
`Authorization: Token <key>` header, or as a subprotocol `token.<key>` offered next to the stream's
own subprotocol (browsers cannot set headers; the server answers with the stream's subprotocol and
never echoes the token). Anonymous or bad tokens: closed with 4401; a session used from another
site's page: 4403; bad filters: 4400. An open subscription closes with 4401 when its token is
revoked, its user deactivated or its session logs out (registry.sockets).

Reconnecting: every message carries this node's sequence number `seq` of the stream. A subscriber
that passes the last one it saw (`?after=<seq>` or "after" in a subscribe message) first gets what it
missed from the history, in order, ended by {"type": "replayed", "seq": S}, then the live ones, with
none twice and none left out. The consumer joins the group before it reads the history, and the
channel layer holds the live messages until the replay is sent; those the replay already covered
(seq <= the position) are dropped.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.origins import same_origin
from monitoring import alerts
from monitoring.history import parse_after
from registry.models import ApiToken
from registry.services.accounts import hash_token_key
from registry.sockets import RevocableSocket

TOKEN_PREFIX = "token."


@database_sync_to_async
def _token_user(key: str):
    """(the token's user, the token's id), or (None, None)."""
    token = ApiToken.objects.select_related("user", "user__institution").filter(
        key_sha256=hash_token_key(key), revoked_at__isnull=True
    ).first()
    return (token.user, token.pk) if token is not None and token.user.is_active else (None, None)


@database_sync_to_async
def _audience(user):
    return alerts.audience(user)


class StreamConsumer(RevocableSocket, AsyncJsonWebsocketConsumer):
    """Subclasses name their `subprotocol`, channel layer `group`, `history` (with a replay(after,
    select)) and message `kind`, and define `parse_filters(raw)` and `select(item)` (the item as
    this subscriber may see it and asked for it, or None)."""

    subprotocol: str
    group: str
    history = None
    kind: str

    def parse_filters(self, raw: dict) -> dict:
        raise NotImplementedError

    def select(self, item: dict) -> dict | None:
        raise NotImplementedError

    def message(self, item: dict, *, replayed: bool = False) -> dict:
        """What the subscriber is sent for one item."""
        message = {"type": self.kind, self.kind: item}
        if replayed:
            message["replayed"] = True
        return message

    async def _replay(self, after):
        return await database_sync_to_async(self.history.replay)(after, self.select)

    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        user, token_id = self.scope.get("user"), None
        key = self._token(offered)
        if key:
            user, token_id = await _token_user(key)
        elif not self._same_origin():
            # A session cookie rides along with any page's request: only this site's pages may use it.
            # (Token clients need no Origin check: the token is not ambient.)
            await self.close(code=4403)
            return
        self.scope_filter = await _audience(user) if user is not None and user.is_authenticated else None
        # Closed (4401) when the token is revoked, the user deactivated or the session logs out.
        if not self.scope_filter or not await self.join_principal(user, token_id):
            await self.close(code=4401)
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items() if k != "token"}
        try:
            after = parse_after(query.pop("after", None))
            self.filters = self.parse_filters(query)
        except ValueError:
            await self.close(code=4400)
            return
        # A new subscriber starts at the history's newest seq as it is before joining: what is
        # published from then on is its own, whether it reaches the group before the join (read back
        # from the history below) or after (waiting in this channel).
        start = (await self._replay(None)).upto if after is None else None
        # Joined before the history is read: what is published meanwhile waits in this channel.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(subprotocol=self.subprotocol if self.subprotocol in offered else None)
        self.position = 0
        await self._catch_up(after, start=start)

    def _same_origin(self) -> bool:
        return same_origin(self.scope, missing=True)  # no Origin header: not a browser

    def _token(self, offered) -> str | None:
        for protocol in offered:
            if protocol.startswith(TOKEN_PREFIX):
                return protocol[len(TOKEN_PREFIX):]
        query = parse_qs(self.scope.get("query_string", b"").decode())
        if query.get("token"):
            return query["token"][-1]
        for name, value in self.scope.get("headers", []):
            if name == b"authorization":
                parts = value.decode(errors="replace").split()
                if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
                    return parts[1]
        return None

    async def disconnect(self, code):
        await self.leave_principal()
        if getattr(self, "scope_filter", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") not in ("subscribe", "ping"):
            await self.send_json({"type": "error", "detail": "send {\"type\": \"subscribe\", ...filters} or a ping"})
            return
        if content["type"] == "ping":
            await self.send_json({"type": "pong"})
            return
        try:
            after = parse_after(content.get("after"))
            self.filters = self.parse_filters({k: v for k, v in content.items() if k not in ("type", "after")})
        except ValueError as exc:
            await self.send_json({"type": "error", "detail": str(exc)})
            return
        if after is None:
            await self.send_json({"type": "subscribed", "filters": self.filters, "seq": self.position})
        else:
            await self._catch_up(after)

    async def _catch_up(self, after: int | None, start: int | None = None) -> None:
        """"subscribed" with the seq the subscriber is now at, then (when `after` is given) a "gap" or
        "reset" if there is one, the missed items and "replayed". A new subscriber (`start`: the
        newest seq before it joined the group) is at `start` and gets the items published while it
        was joining as live ones."""
        replay = await self._replay(after if after is not None else start)
        self.position = max(self.position, replay.upto) if not replay.reset else replay.upto
        # A new subscriber's stream starts after `start`: the items sent next have greater seqs.
        begins = start if after is None and start is not None else replay.upto
        await self.send_json({"type": "subscribed", "filters": self.filters, "seq": begins})
        if after is None:
            for item in replay.items:
                await self.send_json(self.message(item))
            return
        if replay.reset:
            await self.send_json({"type": "reset", "after": after, "seq": replay.upto})
        if replay.gap:
            await self.send_json({"type": "gap", "after": after, "first": replay.first})
        for item in replay.items:
            await self.send_json(self.message(item, replayed=True))
        await self.send_json({"type": "replayed", "after": after, "seq": replay.upto, "count": len(replay.items)})

    async def deliver(self, item: dict) -> None:
        """A live item from the group: sent if new to this subscriber and its to see."""
        seq = item.get("seq")
        if seq is not None:
            if seq <= self.position:
                return  # already replayed, or older than where this subscriber started
            self.position = seq
        selected = self.select(item)
        if selected is not None:
            await self.send_json(self.message(selected))
