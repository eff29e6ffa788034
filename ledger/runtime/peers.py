"""What this node knows of its peers' liveness: when each was last heard from, last sent to, and the
last delivery error. Kept in Redis, not the database: it changes with every message, and a
database write per message would compete with the drain loop for the write lock."""

from __future__ import annotations

import time

from ledger.runtime.wake import _client, settings


def _key() -> str:
    return f"pilechain:{settings.NODE_CODE}:ledger-peers"


def heard_from(codes) -> None:
    now = repr(time.time())
    mapping = {f"{code}:heard": now for code in codes}
    if mapping:
        _client().hset(_key(), mapping=mapping)


def sent_to(code: str, error: str = "") -> None:
    fields = {f"{code}:error": error}
    if not error:
        fields[f"{code}:sent"] = repr(time.time())
    _client().hset(_key(), mapping=fields)


def snapshot() -> list[dict]:
    raw = {k.decode(): v.decode() for k, v in _client().hgetall(_key()).items()}
    peers: dict[str, dict] = {}
    for key, value in raw.items():
        code, what = key.rsplit(":", 1)
        entry = peers.setdefault(code, {"code": code, "last_heard_at": None, "last_sent_at": None, "last_error": ""})
        if what == "heard":
            entry["last_heard_at"] = float(value)
        elif what == "sent":
            entry["last_sent_at"] = float(value)
        else:
            entry["last_error"] = value
    return [peers[c] for c in sorted(peers)]
