"""A statement's money and its hash, from the agreed totals and the terms a party can read. Pure.

The ledger holds the statement's items (energy per pile and band, the published tariff price) and the
commitment to the confidential terms; it never sees a negotiated price or a discount. Each party's
node opens the terms, computes the money here and signs the statement hash; the statement is
confirmed when both parties signed the same hash. Rounding: each item's amount is rounded once, half
up, to the cent; the discount is rounded once, half up, to the cent, on the sum of the items.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ledger.chain.encoding import canonical, sha256
from settlement.tariffs import cents, money


class TermsError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    pile: str
    band: str
    energy_wh: int
    tariff_price: Decimal  # CNY/kWh, as published by the grid institution


@dataclass(frozen=True)
class Terms:
    """What the parties agreed off the public tariff: prices per band (override), a discount in percent."""

    prices: dict
    discount_percent: Decimal
    bank: dict

    @classmethod
    def none(cls) -> "Terms":
        return cls({}, Decimal(0), {})

    @classmethod
    def from_plain(cls, plain) -> "Terms":
        if not isinstance(plain, dict) or set(plain) - {"prices", "discount_percent", "bank"}:
            raise TermsError("terms are {prices, discount_percent, bank}")
        try:
            prices = {str(b): Decimal(p) for b, p in (plain.get("prices") or {}).items()}
            discount = Decimal(plain.get("discount_percent") or "0")
        except (InvalidOperation, TypeError, AttributeError):
            raise TermsError("prices and discount are decimal strings") from None
        if not 0 <= discount <= 100 or any(not p.is_finite() or p < 0 for p in prices.values()):
            raise TermsError("a discount is 0 to 100 percent; prices are not negative")
        bank = plain.get("bank") or {}
        if not isinstance(bank, dict):
            raise TermsError("bank details are a mapping")
        return cls(prices, discount, bank)

    def to_plain(self) -> dict:
        return {"prices": {b: format(p, "f") for b, p in sorted(self.prices.items())},
                "discount_percent": format(self.discount_percent, "f"), "bank": self.bank}


@dataclass(frozen=True)
class Money:
    lines: list  # (item, price, amount)
    subtotal: Decimal
    discount: Decimal
    total: Decimal


def compute(items: list[Item], terms: Terms) -> Money:
    lines = []
    for item in sorted(items, key=lambda i: (i.pile, i.band)):
        price = terms.prices.get(item.band, item.tariff_price)
        lines.append((item, price, money(item.energy_wh, price)))
    subtotal = sum((amount for _, _, amount in lines), Decimal("0.00"))
    discount = cents(subtotal * terms.discount_percent / 100)
    return Money(lines, subtotal, discount, subtotal - discount)


def statement_hash(*, statement: str, result: Money, terms_commitment: str) -> str:
    """What both parties sign: the statement, every line with its price and amount, and the terms' commitment."""
    return sha256(canonical({
        "statement": statement,
        "lines": [[i.pile, i.band, i.energy_wh, format(p, "f"), format(a, "f")] for i, p, a in result.lines],
        "subtotal": format(result.subtotal, "f"), "discount": format(result.discount, "f"),
        "total": format(result.total, "f"), "terms": terms_commitment,
    })).hex()
