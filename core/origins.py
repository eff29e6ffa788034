"""Whether a websocket handshake comes from one of this site's own pages (the Origin check).

A browser sends the page's origin (scheme, host and port) with every websocket handshake, and the
session cookie rides along whatever page opened the socket. A socket that acts on the session is
therefore accepted only from the origin it is served at: the same scheme (ws with http, wss with
https, as the server or the trusted proxy in front of it says), the same host (one of ALLOWED_HOSTS)
and the same port, default ports filled in; or from an origin listed in CSRF_TRUSTED_ORIGINS (the
same list the forms' CSRF check trusts). Any other port of an allowed host is another origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int] | None:
    if scheme not in DEFAULT_PORTS or not host or port == 0:
        return None
    return scheme, host.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


def parse_origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin ("https://node.example:8443"), or None if it is not one."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return None
    return _origin(parts.scheme.lower(), parts.hostname or "", port)


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin the socket is served at: its scheme and its Host header, if the host is allowed."""
    host = next((value.decode("latin1") for name, value in scope.get("headers", []) if name == b"host"), "")
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    domain = domain.strip("[]")  # an IPv6 host, as the Origin's hostname gives it
    scheme = SOCKET_SCHEMES.get(scope.get("scheme") or "ws")
    if scheme is None:
        return None
    try:
        number = int(port) if port else None
    except ValueError:
        return None
    return _origin(scheme, domain, number)


def trusted_origins() -> set[tuple[str, str, int]]:
    return {found for text in settings.CSRF_TRUSTED_ORIGINS if (found := parse_origin(text)) is not None}


def same_origin(scope, *, missing: bool) -> bool:
    """Whether the handshake's Origin is the socket's own (or a trusted one); `missing`: the answer
    when there is no Origin header (a program, not a browser)."""
    headers = [value for name, value in scope.get("headers", []) if name == b"origin"]
    if not headers:
        return missing
    if len(headers) > 1:
        return False
    origin = parse_origin(headers[0].decode("latin1"))
    if origin is None:
        return False
    return origin == own_origin(scope) or origin in trusted_origins()


class SameOriginValidator:
    """ASGI middleware for the sockets of this site's pages: a handshake from another origin, or with
    no Origin at all, is closed before the application sees it."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not same_origin(scope, missing=False):
            return await WebsocketDenier()(scope, receive, send)  # the handshake is refused (HTTP 403)
        return await self.application(scope, receive, send)
