"""A multiset hash of the ledger-derived rows (MuHash over the prime field 2^3072 - 1103717).

The digest of a set of rows is the product of each row's hash, expanded to 3072 bits, modulo a
prime. It updates in O(1) per write (multiply in the new row, divide out the old one) and can be
recomputed from the tables alone in any order, so an audit can compare "what the tables hold" with
"what the chain says they should hold" without replaying the chain. Numerator and denominator are
kept apart so that division costs one modular inverse only when the digest is read.
"""

from __future__ import annotations

import hashlib

PRIME = 2**3072 - 1103717
_EXPANDED_BYTES = 384


def _element(data: bytes) -> int:
    # Expand SHA-256 to 3072 bits with a counter (a simple XOF); never 0 mod PRIME in practice.
    seed = hashlib.sha256(data).digest()
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(_EXPANDED_BYTES // 32))
    return int.from_bytes(out, "little") % PRIME


class MuHash:
    __slots__ = ("numerator", "denominator")

    def __init__(self, numerator: int = 1, denominator: int = 1):
        self.numerator = numerator
        self.denominator = denominator

    def add(self, item: bytes) -> None:
        self.numerator = (self.numerator * _element(item)) % PRIME

    def remove(self, item: bytes) -> None:
        self.denominator = (self.denominator * _element(item)) % PRIME

    def value(self) -> int:
        return (self.numerator * pow(self.denominator, -1, PRIME)) % PRIME

    def digest(self) -> str:
        """SHA-256 of the normalised value: a short, comparable hex string."""
        return hashlib.sha256(self.value().to_bytes(_EXPANDED_BYTES, "little")).hexdigest()

    def to_hex(self) -> str:
        """The normalised value, for storage; `from_hex` restores it."""
        return self.value().to_bytes(_EXPANDED_BYTES, "little").hex()

    @classmethod
    def from_hex(cls, text: str) -> "MuHash":
        return cls(int.from_bytes(bytes.fromhex(text), "little"), 1)

    @classmethod
    def of(cls, items) -> "MuHash":
        h = cls()
        for item in items:
            h.add(item)
        return h
