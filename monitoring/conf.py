"""Monitoring settings, each with a default (config/settings.py may set MONITORING_*)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

DEFAULT_DUE_HOURS = {"critical": 4, "major": 24, "minor": 72}


def get(name: str, default):
    return getattr(settings, f"MONITORING_{name}", default)


def retention_days() -> int:
    return int(get("RETENTION_DAYS", 400))


def status_retention_days() -> int:
    return int(get("STATUS_RETENTION_DAYS", 800))


def heartbeat_s() -> int:
    return int(get("HEARTBEAT_INTERVAL_S", 300))


def missed_heartbeats() -> int:
    return int(get("MISSED_HEARTBEATS", 3))


def power_tolerance() -> Decimal:
    return Decimal(str(get("POWER_TOLERANCE", "0.10")))


def due_hours(severity: str) -> int:
    return int(get("WORK_ORDER_DUE_HOURS", DEFAULT_DUE_HOURS).get(severity, DEFAULT_DUE_HOURS["major"]))


def anchor_batch_max() -> int:
    return int(get("ANCHOR_BATCH_MAX", 50_000))


def webhook_max_attempts() -> int:
    return int(get("WEBHOOK_MAX_ATTEMPTS", 6))


def webhook_timeout_s() -> float:
    return float(get("WEBHOOK_TIMEOUT_S", 5))


def ingest_max_samples() -> int:
    return int(get("INGEST_MAX_SAMPLES", 5000))


def default_area_threshold_percent() -> Decimal:
    return Decimal(str(get("AREA_LOAD_THRESHOLD_PERCENT", "90")))


def availability_catch_up_days() -> int:
    """Days back (from yesterday) that task monitoring.report_availability reports if not yet done."""
    return int(get("AVAILABILITY_CATCH_UP_DAYS", 7))


def availability_delay_s() -> int:
    """Seconds a day must have been over before the task reports it (late status messages)."""
    return int(get("AVAILABILITY_DELAY_S", 900))


def interval_delay_s() -> int:
    """Seconds an agreed interval must have been over before this node reports it (late messages)."""
    return int(get("INTERVAL_DELAY_S", 30))


def interval_catch_up_s() -> int:
    """How far back this node reports agreed intervals it has not reported yet (after a stop)."""
    return int(get("INTERVAL_CATCH_UP_S", 86400))


def alert_history() -> int:
    """Alerts this node keeps for subscribers that reconnect (the newest; at least 1)."""
    return max(1, int(get("ALERT_HISTORY", 10_000)))


def live_history() -> int:
    """How many groups of live events this node keeps for websocket subscribers to resume from."""
    return max(1, int(get("LIVE_HISTORY", 5_000)))


def live_outbox_keep() -> int:
    """How many sequenced events an operator's node keeps for members that fall behind; a member
    further behind than that is sent the current state instead (a snapshot)."""
    return max(1000, int(get("LIVE_OUTBOX_KEEP", 200_000)))


def live_heartbeat_s() -> float:
    """How often the operator's node tells a member it is alive when it has nothing new."""
    return float(get("LIVE_HEARTBEAT_S", 5))
