"""The alerts websocket (/ws/alerts/): fault alerts as they are reported and confirmed.

Authentication: the session (browsers), or an API token given as `?token=<key>`, as an
`Authorization: Token <key>` header, or as a subprotocol `token.<key>` offered next to
`pilechain.alerts` (browsers cannot set headers; the server answers with `pilechain.alerts` and never
echoes the token). Anonymous or bad tokens: closed with 4401.

Filters (query string or a {"type": "subscribe", ...} message; each a list or comma-separated):
institutions, areas, piles, severities, phases. A subscriber only ever receives alerts about piles its
institution may see (registry.access.pile_audience), whatever it asks for.

Reconnecting: every alert carries this node's sequence number `seq`. A subscriber that passes the
last one it saw (`?after=<seq>` or "after" in a subscribe message) first gets what it missed from the
node's alert history (monitoring.alert_history), in order, ended by {"type": "replayed", "seq": S},
then the live ones, with none twice and none left out. The consumer joins the group before it reads
the history, and the channel layer holds the live alerts until the replay is sent; those the replay
already covered (seq <= the position) are dropped.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import validate_host
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from monitoring import alert_history, alerts
from monitoring.alerts import parse_filters
from registry.models import ApiToken
from registry.services.accounts import hash_token_key

SUBPROTOCOL = "pilechain.alerts"
TOKEN_PREFIX = "token."


@database_sync_to_async
def _token_user(key: str):
    token = ApiToken.objects.select_related("user", "user__institution").filter(
        key_sha256=hash_token_key(key), revoked_at__isnull=True
    ).first()
    return token.user if token is not None and token.user.is_active else None


@database_sync_to_async
def _audience(user):
    return alerts.audience(user)


@database_sync_to_async
def _replay(after, wanted):
    return alert_history.replay(after, wanted)


class AlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        offered = self.scope.get("subprotocols") or []
        user = self.scope.get("user")
        key = self._token(offered)
        if key:
            user = await _token_user(key)
        elif not self._same_origin():
            # A session cookie rides along with any page's request: only this site's pages may use it.
            # (Token clients need no Origin check: the token is not ambient.)
            await self.close(code=4403)
            return
        self.scope_filter = await _audience(user) if user is not None and user.is_authenticated else None
        if not self.scope_filter:
            await self.close(code=4401)
            return
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode()).items() if k != "token"}
        try:
            after = alert_history.parse_after(query.pop("after", None))
            self.filters = parse_filters(query)
        except ValueError:
            await self.close(code=4400)
            return
        # A new subscriber starts at the history's newest seq as it is before joining: what is
        # published from then on is its own, whether it reaches the group before the join (read back
        # from the history below) or after (waiting in this channel).
        start = (await _replay(None, self._wanted)).upto if after is None else None
        # Joined before the history is read: what is published meanwhile waits in this channel.
        await self.channel_layer.group_add(alerts.GROUP, self.channel_name)
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        self.position = 0
        await self._catch_up(after, start=start)

    def _same_origin(self) -> bool:
        for name, value in self.scope.get("headers", []):
            if name == b"origin":
                host = urlparse(value.decode("latin1")).hostname or ""
                return validate_host(host, settings.ALLOWED_HOSTS)
        return True  # not a browser

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
        if getattr(self, "scope_filter", None):
            await self.channel_layer.group_discard(alerts.GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") not in ("subscribe", "ping"):
            await self.send_json({"type": "error", "detail": "send {\"type\": \"subscribe\", ...filters} or a ping"})
            return
        if content["type"] == "ping":
            await self.send_json({"type": "pong"})
            return
        try:
            after = alert_history.parse_after(content.get("after"))
            self.filters = parse_filters({k: v for k, v in content.items() if k not in ("type", "after")})
        except ValueError as exc:
            await self.send_json({"type": "error", "detail": str(exc)})
            return
        if after is None:
            await self.send_json({"type": "subscribed", "filters": self.filters, "seq": self.position})
        else:
            await self._catch_up(after)

    def _wanted(self, alert: dict) -> bool:
        """The one rule for what this subscriber is sent, live or replayed."""
        return alerts.visible(alert, self.scope_filter) and alerts.matches(alert, self.filters)

    async def _catch_up(self, after: int | None, start: int | None = None) -> None:
        """"subscribed" with the seq the subscriber is now at, then (when `after` is given) a "gap" or
        "reset" if there is one, the missed alerts and "replayed". A new subscriber (`start`: the
        newest seq before it joined the group) is at `start` and gets the alerts published while it
        was joining as live ones."""
        replay = await _replay(after if after is not None else start, self._wanted)
        self.position = max(self.position, replay.upto) if not replay.reset else replay.upto
        # A new subscriber's stream starts after `start`: the alerts sent next have greater seqs.
        begins = start if after is None and start is not None else replay.upto
        await self.send_json({"type": "subscribed", "filters": self.filters, "seq": begins})
        if after is None:
            for alert in replay.alerts:
                await self.send_json({"type": "alert", "alert": alert})
            return
        if replay.reset:
            await self.send_json({"type": "reset", "after": after, "seq": replay.upto})
        if replay.gap:
            await self.send_json({"type": "gap", "after": after, "first": replay.first})
        for alert in replay.alerts:
            await self.send_json({"type": "alert", "alert": alert, "replayed": True})
        await self.send_json({"type": "replayed", "after": after, "seq": replay.upto, "count": len(replay.alerts)})

    async def alert_message(self, event):
        alert = event["alert"]
        seq = alert.get("seq")
        if seq is not None:
            if seq <= self.position:
                return  # already replayed, or older than where this subscriber started
            self.position = seq
        if self._wanted(alert):
            await self.send_json({"type": "alert", "alert": alert})
