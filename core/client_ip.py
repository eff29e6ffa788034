"""The client's address as the node sees it, for lockouts and throttles.

Behind a reverse proxy every request comes from the proxy, which names the client in
X-Forwarded-For. That header is believed only from a proxy the node's operator trusts
(PILECHAIN_TRUSTED_PROXIES: addresses or networks; the servers of platform/ put nginx on the same
host, 127.0.0.1): the client is then the nearest address in the header that is not itself a trusted
proxy. From anyone else the header is ignored, so that no client can pick the address it is counted
under (and lock someone else out, or escape its own lockout).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in getattr(settings, "TRUSTED_PROXIES", []):
        try:
            if ip in ipaddress.ip_network(entry.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not _trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return remote  # a garbled header: count the proxy, not a name the client chose
        if not _trusted(address):
            return address
    return remote
