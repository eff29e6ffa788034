"""A multiset hash of the ledger-derived rows (MuHash over the prime field 2^3072 - 1103717).

The digest of a set of rows is the product of each row's hash, expanded to 3072 bits, modulo a
prime. It updates in O(1) per write (multiply in the new row, divide out the old one) and can be
recomputed from the tables alone in any order, so an audit can compare "what the tables hold" with
"what the chain says they should hold" without replaying the chain. Numerator and denominator are
kept apart so that division costs one modular inverse only when the digest is read.

Every block multiplies in a few thousand rows, so the two costs per row are kept small: the element
is one SHAKE-256 output of 384 bytes (an extendable-output function, so no counter loop), and the
products are GMP integers (gmpy2): a 3072-bit multiplication and reduction costs a third of what it
does in Python's own integers. The values are the same integers either way.
"""

from __future__ import annotations

import hashlib

from gmpy2 import mpz

_BITS = 3072
_C = 1103717
PRIME = 2**_BITS - _C
_EXPANDED_BYTES = _BITS // 8


_PRIME = mpz(PRIME)


def _element(data: bytes) -> mpz:
    # An element of the group: never 0 mod PRIME in practice (probability about 2^-3072). The digest
    # is below 2^3072, so one subtraction at most reduces it.
    value = mpz.from_bytes(hashlib.shake_256(b"pilechain/muhash/v2" + data).digest(_EXPANDED_BYTES), "little")
    return value - _PRIME if value >= _PRIME else value


class MuHash:
    __slots__ = ("numerator", "denominator")

    def __init__(self, numerator: int = 1, denominator: int = 1):
        self.numerator = mpz(numerator)
        self.denominator = mpz(denominator)

    def add(self, item: bytes) -> None:
        self.numerator = self.numerator * _element(item) % _PRIME

    def remove(self, item: bytes) -> None:
        self.denominator = self.denominator * _element(item) % _PRIME

    def value(self) -> int:
        return int(self.numerator * pow(self.denominator, -1, _PRIME) % _PRIME)

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
