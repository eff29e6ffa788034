"""What this node knows of its peers' liveness: when each was last heard from, last sent to, and the
last delivery error. Kept in Redis, not the database: it changes with every message, and a
database write per message would compete with the drain loop for the write lock."""

from __future__ import annotations

import time

import requests

from django.conf import settings

from ledger.runtime.node import consortium
from ledger.runtime.transport import PEER_PATH
from ledger.runtime.wake import client


def _key() -> str:
    return f"pilechain:{settings.NODE_CODE}:ledger-peers"


def heard_from(codes) -> None:
    now = repr(time.time())
    mapping = {f"{code}:heard": now for code in codes}
    if mapping:
        client().hset(_key(), mapping=mapping)


def sent_to(code: str, error: str = "") -> None:
    fields = {f"{code}:error": error}
    if not error:
        fields[f"{code}:sent"] = repr(time.time())
    client().hset(_key(), mapping=fields)


def post_batch(peer: str, body: bytes, *, session=requests) -> None:
    """POST one packed batch to a peer's endpoint and note the outcome; raises on failure."""
    member = consortium().member(peer)
    if member is None:
        raise ValueError(f"no such peer {peer}")
    try:
        response = session.post(
            member.url + PEER_PATH, data=body, timeout=settings.LEDGER_PEER_TIMEOUT_S,
            headers={"Content-Type": "application/octet-stream", "X-Pilechain-Node": settings.NODE_CODE},
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        sent_to(peer, error=f"{exc.__class__.__name__}: {exc}"[:500])
        raise
    sent_to(peer)


def snapshot() -> list[dict]:
    raw = {k.decode(): v.decode() for k, v in client().hgetall(_key()).items()}
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
