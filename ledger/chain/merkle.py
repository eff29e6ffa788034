"""Merkle trees as in RFC 6962 section 2.1: domain-separated leaf (0x00) and node (0x01) hashes,
so a leaf can never be passed off as an inner node. The tree over n leaves splits at the largest
power of two below n; the empty tree hashes to SHA-256 of nothing.
"""

from __future__ import annotations

import hashlib

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: list[bytes]) -> bytes:
    """Root over already-hashed leaves, bottom-up; equal to the recursive RFC 6962 definition
    because carrying an odd last node up unchanged reproduces the split at the largest power of two."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def merkle_root(leaves: list[bytes]) -> bytes:
    return root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves])
