"""Database work of the OCPP consumers, off the event loop and in parallel.

Channels' `database_sync_to_async` is thread-sensitive by default: every consumer's database call
of the process would queue for one thread, so a thousand piles would wait on each other's queries.
The gateway's calls are independent per pile (a pile's own frames are still handled in order by its
consumer), so they run on a pool of threads, each with its own database connection.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from channels.db import DatabaseSyncToAsync
from django.conf import settings

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=int(getattr(settings, "GATEWAY_DB_THREADS", 8)), thread_name_prefix="gateway-db"
        )
    return _executor


def db(func):
    """Like channels.db.database_sync_to_async (old connections closed around the call), pooled."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_pool())
