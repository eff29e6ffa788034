"""How protocol messages travel between nodes: HTTP POSTs of length-prefixed batches.

A batch is the concatenation of (4-byte big-endian length, message bytes). Each message is a signed
PBFT envelope, so the transport itself needs no authentication: the receiving endpoint checks every
signature against the consortium's keys before anything is stored.
"""

from __future__ import annotations

import struct

MAX_MESSAGES_PER_BATCH = 10_000
PEER_PATH = "/ledger/peer/"


class BatchError(ValueError):
    pass


def pack(wires: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(w)) + w for w in wires)


def unpack(body: bytes) -> list[bytes]:
    wires, offset = [], 0
    while offset < len(body):
        if len(body) - offset < 4:
            raise BatchError("truncated length prefix")
        (size,) = struct.unpack_from(">I", body, offset)
        offset += 4
        if size == 0 or size > len(body) - offset:
            raise BatchError("message length out of range")
        wires.append(body[offset : offset + size])
        offset += size
        if len(wires) > MAX_MESSAGES_PER_BATCH:
            raise BatchError("too many messages in one batch")
    return wires
