"""The gateway's settings, with their defaults (settings.GATEWAY_*)."""

from django.conf import settings


def heartbeat_interval() -> int:
    return int(getattr(settings, "GATEWAY_HEARTBEAT_INTERVAL", 300))


def max_frame_bytes() -> int:
    """A frame larger than this closes the socket with 1009 (message too big)."""
    return int(getattr(settings, "GATEWAY_MAX_FRAME_BYTES", 65536))
