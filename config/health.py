"""GET /healthz: is this node's database, Redis and at least one Celery worker up, and is its ledger
applying blocks? 503 if not."""

import logging
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery_app import app
from ledger.runtime import node
from ledger.selectors import apply_status

logger = logging.getLogger("pilechain.health")


def _check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def _check_redis() -> dict:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True, "embedded": settings.EMBEDDED_REDIS}


def _check_celery() -> dict:
    # Several nodes may share one broker: ask only this node's workers (named "<node>@host"), and
    # stop at the first answer instead of waiting out the timeout.
    replies = app.control.ping(
        timeout=settings.HEALTHZ_CELERY_TIMEOUT_S, limit=1, pattern=f"{settings.NODE_CODE}@*", matcher="glob"
    )
    workers = sorted(name for reply in replies for name in reply if name.startswith(f"{settings.NODE_CODE}@"))
    return {"ok": bool(workers), "workers": workers}


def _check_ledger() -> dict:
    """Whether the drain loop is failing to apply a block (ledger.runtime.stall): said while it
    retries, and "down" once the failure lasted long enough to raise the alert apply_stalled."""
    if not node.configured():
        return {"ok": True, "configured": False, "state": "ok"}
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        status = apply_status(client)
    finally:
        client.close()
    return {**status, "ok": status["state"] != "unknown" and not status.get("alerted", False)}


CHECKS = {"database": _check_database, "redis": _check_redis, "celery": _check_celery, "ledger": _check_ledger}


@never_cache
@require_GET
def healthz(request):
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            result = check()
        except Exception as exc:  # any failure of a dependency is a "down", reported, never a 500
            logger.warning("health check failed", extra={"check": name, "error": repr(exc)})
            result = {"ok": False, "error": exc.__class__.__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    healthy = all(r["ok"] for r in results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "down", "node": settings.NODE_CODE, "checks": results},
        status=200 if healthy else 503,
    )
