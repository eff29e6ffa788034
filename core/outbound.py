"""Requests the node makes to addresses its users gave it (webhooks): never to the node's own
network unless its operator allows it.

A URL is refused when its host resolves to any loopback, private, link-local (cloud metadata
services live at 169.254.169.254), shared, multicast, reserved or unspecified address, IPv4 in IPv6
included, unless PILECHAIN_OUTBOUND_ALLOW (settings.OUTBOUND_ALLOW) names the host or a network
holding the address. The name is resolved once per request, every address it resolves to is checked,
and the connection goes to the checked address (the host name still sent as Host and, over TLS, as
the server name the certificate is verified against), so a second resolution cannot point it
elsewhere. No redirect is followed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

SCHEMES = {"http": 80, "https": 443}
MAX_ANSWER_BYTES = 4096
logger = logging.getLogger("pilechain.security")


class Refused(ValueError):
    """The URL may not be requested (its reason is the message)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (lowercase)
    port: int
    address: str  # the checked address the connection goes to
    path: str  # path and query


def _allowed(host: str, address: ipaddress._BaseAddress) -> bool:
    for entry in getattr(settings, "OUTBOUND_ALLOW", []):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _public(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _public(mapped)
        if address.teredo:
            return _public(address.teredo[1])
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified or getattr(address, "is_site_local", False)
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED))


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not private by ipaddress, not public


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL without credentials; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused("only http and https URLs")
    if parts.username or parts.password:
        raise Refused("no credentials in the URL")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise Refused("the URL names no host")
    try:
        host = host.encode("idna").decode("ascii")  # an international name as DNS, TLS and Host take it
    except UnicodeError:
        raise Refused("the host is not a valid name") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or SCHEMES[scheme], path


def resolve(url: str) -> Target:
    """Resolve and check the URL's host: a Target whose every address is allowed; Refused otherwise."""
    scheme, host, port, path = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise Refused(f"{host} does not resolve")
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not _public(address) and not _allowed(host, address):
            # The address itself is not told: it would map the node's own network to whoever asks.
            logger.info("outbound request to %s refused: %s is not a public address", host, address)
            raise Refused(f"{host} resolves to a loopback, private, link-local or reserved address "
                          f"(allow it in PILECHAIN_OUTBOUND_ALLOW if it is meant)")
    return Target(scheme, host, port, addresses[0], path)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the URL's checked address; returns the status code (redirects are answers, not followed).
    Refused for a URL that may not be requested; urllib3's errors for network failures."""
    target = resolve(url)
    default = SCHEMES[target.scheme] == target.port
    host_header = (f"[{target.host}]" if ":" in target.host else target.host) + ("" if default else f":{target.port}")
    common = {"port": target.port, "timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(target.address, server_hostname=target.host, assert_hostname=target.host,
                                           cert_reqs="CERT_REQUIRED", **common)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, **common)
    try:
        response = pool.urlopen("POST", target.path, body=body, headers={**headers, "Host": host_header},
                                redirect=False, assert_same_host=False, preload_content=False)
        try:
            response.read(MAX_ANSWER_BYTES)  # the status is what counts; the body is not kept nor read on
        finally:
            response.release_conn()
        return response.status
    finally:
        pool.close()
