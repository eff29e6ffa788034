"""Database work of the OCPP consumers, off the event loop and in parallel.

Channels' `database_sync_to_async` is thread-sensitive by default: every consumer's database call
of the process would queue for one thread, so a thousand piles would wait on each other's queries.
The gateway's calls are independent per pile (a pile's own frames are still handled in order by its
consumer), so they run on a pool of threads, each with its own database connection, which it keeps
(persistent connections, checked before reuse, renewed after CONN_MAX_AGE_S): opening a PostgreSQL
connection costs more than the few statements of a typical call, and the pool's threads live as long
as the process. Elsewhere connections stay per request (CONN_MAX_AGE 0), which bounds how many a
node holds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import connections

_executor: ThreadPoolExecutor | None = None
_kept: list = []  # the pool threads' connection wrappers, for close_pool
CONN_MAX_AGE_S = 300


def _keep_connections() -> None:
    """A pool thread's own database connections (one per alias, this thread's) outlive its calls."""
    for alias in connections:
        wrapper = connections[alias]
        wrapper.settings_dict = {**wrapper.settings_dict, "CONN_MAX_AGE": CONN_MAX_AGE_S, "CONN_HEALTH_CHECKS": True}
        _kept.append(wrapper)


def close_pool() -> None:
    """End the pool's threads and close the connections they kept (before a test database is
    dropped, say); the next call starts a new pool."""
    global _executor
    if _executor is not None:
        _executor.shutdown(wait=True)
        _executor = None
    while _kept:
        wrapper = _kept.pop()
        wrapper.inc_thread_sharing()  # closed from this thread: its own has ended
        try:
            wrapper.close()
        finally:
            wrapper.dec_thread_sharing()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(
            max_workers=int(getattr(settings, "GATEWAY_DB_THREADS", 8)), thread_name_prefix="gateway-db",
            initializer=_keep_connections,
        )
    return _executor


def db(func):
    """Like channels.db.database_sync_to_async (old connections closed around the call), pooled."""
    return DatabaseSyncToAsync(func, thread_sensitive=False, executor=_pool())
