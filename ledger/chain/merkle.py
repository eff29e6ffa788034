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


# Inclusion proofs (RFC 6962 section 2.1.1 audit paths, verified as in RFC 9162 section 2.1.3.2).

HASH_SIZE = 32
MAX_TREE_SIZE = 2**63  # far beyond any block; bounds the verifier's loop on hostile input


class MerkleTree:
    """A tree whose levels are built once, so a block of many transactions can hand out a proof per
    transaction without rehashing. Levels are bottom-up; an odd last node is carried up unchanged,
    which is the RFC 6962 shape (see root_from_leaf_hashes)."""

    def __init__(self, leaf_hashes: list[bytes]):
        level = [bytes(h) for h in leaf_hashes]
        if any(len(h) != HASH_SIZE for h in level):
            raise ValueError("leaf hashes are 32 bytes")
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            self.levels.append(nxt)
            level = nxt

    @classmethod
    def from_leaves(cls, leaves: list[bytes]) -> "MerkleTree":
        return cls([leaf_hash(leaf) for leaf in leaves])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    @property
    def root(self) -> bytes:
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def leaf_hash(self, index: int) -> bytes:
        return self.levels[0][index]

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf `index`, nearest sibling first."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise IndexError(f"leaf index {index!r} outside a tree of {self.size} leaves")
        path = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):  # the carried-up last node has no sibling at this level
                path.append(level[sibling])
            index //= 2
        return path


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Audit path for leaf data `leaves[index]`; build a MerkleTree for more than one proof."""
    return MerkleTree.from_leaves(leaves).inclusion_proof(index)


def root_from_inclusion_proof(hashed_leaf: bytes, index: int, tree_size: int, proof: list[bytes]) -> bytes | None:
    """The root that `proof` implies for this leaf hash, or None when the proof cannot belong to a
    tree of `tree_size` leaves (wrong length, index out of range, malformed hashes)."""
    if not _is_count(index) or not _is_count(tree_size) or not 0 <= index < tree_size <= MAX_TREE_SIZE:
        return None
    if not _is_hash(hashed_leaf) or not isinstance(proof, (list, tuple)) or not all(_is_hash(p) for p in proof):
        return None
    fn, sn, r = index, tree_size - 1, bytes(hashed_leaf)
    for p in proof:
        if sn == 0:
            return None  # the proof is longer than the path
        p = bytes(p)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:  # skip the levels where this node was carried up
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(hashed_leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> bool:
    """True when `proof` shows that the leaf with this (already computed) hash is leaf `index` of
    the tree of `tree_size` leaves with `root`. Never raises."""
    try:
        computed = root_from_inclusion_proof(hashed_leaf, index, tree_size, proof)
        return computed is not None and _is_hash(root) and computed == bytes(root)
    except Exception:  # hostile input must answer False, whatever shape it takes
        return False


def verify_leaf_inclusion(leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> bool:
    """verify_inclusion for the leaf's data: hashed here with the leaf prefix. Two functions rather
    than one guessing, since a 32-byte leaf (a transaction id) looks just like a hash."""
    if not isinstance(leaf, (bytes, bytearray)):
        return False
    return verify_inclusion(leaf_hash(bytes(leaf)), index, tree_size, proof, root)


def proof_to_hex(proof: list[bytes]) -> list[str]:
    return [p.hex() for p in proof]


def proof_from_hex(items: list[str]) -> list[bytes]:
    """Parse the serialised form (lower-case hex strings of 32 bytes); ValueError otherwise."""
    if not isinstance(items, (list, tuple)):
        raise ValueError("a proof is a list of hex strings")
    out = []
    for item in items:
        if not isinstance(item, str) or len(item) != 2 * HASH_SIZE or item != item.lower():
            raise ValueError("proof entries are 64 lower-case hex characters")
        out.append(bytes.fromhex(item))
    return out


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hash(value) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE
