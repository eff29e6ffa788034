"""Open websockets close when their principal loses the right to them; and the websocket stack's
liveness check, which is such a socket.

Every socket that acts for someone joins channel-layer groups for who that is: the user, the API
token it was opened with, or the login session. When a token is revoked or deleted, a user is
deactivated, or a session logs out (registry.signals), a "principal.revoked" message goes to that
group once the change is committed, and every socket in it closes with 4401 within a moment, whatever
it streams (alerts, the live fleet, anything added later that uses `RevocableSocket`).

A socket joins its groups before it checks its principal a last time (`still_valid`), so a revocation
committed while it was connecting either reaches it in the group or is seen by that check.
"""

from __future__ import annotations

import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from registry import two_factor
from registry.models import ApiToken, User

logger = logging.getLogger("pilechain.security")
REVOKED = "principal.revoked"
CLOSE_CODE = 4401


def user_group(user_id: int) -> str:
    return f"principal.user.{user_id}"


def token_group(token_id: int) -> str:
    return f"principal.token.{token_id}"


def session_group(session_key: str) -> str:
    # Group names are short ASCII; the key itself stays out of the channel layer.
    return f"principal.session.{hashlib.sha256(session_key.encode()).hexdigest()[:40]}"


def groups_of(*, user_id: int | None, token_id: int | None = None, session_key: str | None = None) -> list[str]:
    groups = []
    if user_id is not None:
        groups.append(user_group(user_id))
    if token_id is not None:
        groups.append(token_group(token_id))
    if session_key:
        groups.append(session_group(session_key))
    return groups


def close_sockets(*, user_id: int | None = None, token_id: int | None = None, session_key: str | None = None) -> None:
    """Close the principal's open sockets once the current transaction commits (at once outside one)."""
    groups = groups_of(user_id=user_id, token_id=token_id, session_key=session_key)

    def send():
        try:
            layer = get_channel_layer()
            if layer is None:
                return
            for group in groups:
                async_to_sync(layer.group_send)(group, {"type": REVOKED})
        except Exception:  # noqa: BLE001 - a channel layer down must not keep a logout or revocation from happening
            logger.exception("open sockets of a revoked principal not told to close")

    if groups:
        transaction.on_commit(send, robust=True)


@database_sync_to_async
def still_valid(*, user_id: int, token_id: int | None, session=None) -> bool:
    """The user is active; the token not revoked; or the session still exists and, where this node
    requires a second factor of the user, was verified by one (registry.two_factor)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    if token_id is not None:
        return ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists()
    if session is not None:
        if not session.session_key or not session.exists(session.session_key):
            return False
        if two_factor.must_verify(user) and not two_factor.session_verified(user, session):
            return False
    return True


class RevocableSocket:
    """A mixin for async consumers acting for a principal: `await self.join_principal(user, token_id)`
    once the principal is known (False: it is no longer valid, close), `await self.leave_principal()`
    on disconnect."""

    _principal_groups: list[str] = []

    async def join_principal(self, user, token_id: int | None = None) -> bool:
        session = self.scope.get("session") if token_id is None else None
        key = getattr(session, "session_key", None) if session is not None else None
        self._principal_groups = groups_of(user_id=user.pk, token_id=token_id, session_key=key)
        for group in self._principal_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        return await still_valid(user_id=user.pk, token_id=token_id, session=session)

    async def leave_principal(self) -> None:
        for group in self._principal_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        self._principal_groups = []

    async def principal_revoked(self, event) -> None:
        await self.close(code=CLOSE_CODE)


class PingConsumer(RevocableSocket, AsyncJsonWebsocketConsumer):
    """A liveness check for the websocket stack: authenticated users only, answers pings; closes when
    its user, or the session it was opened with, loses its right to it."""

    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated or not await self.join_principal(user):
            await self.close(code=CLOSE_CODE)
            return
        await self.accept()

    async def disconnect(self, code):
        await self.leave_principal()

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong", "user": self.scope["user"].username})
        else:
            await self.send_json({"type": "error", "detail": "unknown message type"})


def _token_saved(sender, instance, **kwargs):
    if instance.revoked_at is not None:
        close_sockets(token_id=instance.pk)


def _token_deleted(sender, instance, **kwargs):
    close_sockets(token_id=instance.pk)


def _user_saved(sender, instance, **kwargs):
    if not instance.is_active:
        close_sockets(user_id=instance.pk)


def _user_deleted(sender, instance, **kwargs):
    close_sockets(user_id=instance.pk)


def _logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        close_sockets(session_key=session.session_key)


def connect_signals() -> None:
    """Called by RegistryConfig.ready: revocations, deactivations and logouts close sockets."""
    post_save.connect(_token_saved, sender=ApiToken, dispatch_uid="registry.sockets.token_saved")
    post_delete.connect(_token_deleted, sender=ApiToken, dispatch_uid="registry.sockets.token_deleted")
    post_save.connect(_user_saved, sender=User, dispatch_uid="registry.sockets.user_saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid="registry.sockets.user_deleted")
    user_logged_out.connect(_logged_out, dispatch_uid="registry.sockets.logged_out")
