"""Confidential terms sealed for the two parties of a statement and the regulator (ledger.chain.sealed).

Sealing and opening happen on a node, never in a contract: contracts only check who the readers are
(against the consortium's published encryption keys) and keep the commitment. A statement's money is
computed here too, with the terms when this node is one of their readers (the confirm service and the
statement page both need it).
"""

from __future__ import annotations

from ledger import sealing
from ledger.chain import sealed
from ledger.sealing import readers_for  # re-exported: callers read it from here
from settlement.models import Statement
from settlement.statements import Item, Money, Terms, compute


def seal_terms(terms: Terms, *, operator: str, grid: str, regulators: list[str]) -> dict:
    return sealed.seal(terms.to_plain(), readers_for([operator, grid, *regulators]))


def open_terms(section: dict, *, reader: str | None = None) -> Terms:
    """Open with this node's own X25519 key; raises sealed.NotAReader for an institution outside."""
    return Terms.from_plain(sealing.open_here(section, reader=reader))


def readers_match(section, expected: list[str]) -> str | None:
    """None when the section is sealed to exactly `expected` with their published keys, else why not."""
    return sealing.readers_problem(section, expected, what="terms")


def statement_money(statement: Statement, *, reader: str | None = None, items=None) -> tuple[Money, bool]:
    """The money as this node can compute it: with the sealed terms when it is a reader (True), else
    at the published tariff (False). Raises sealed.SealError if the section fails to open. `items`:
    the statement's items with their piles when the caller has them already."""
    rows = statement.items.select_related("pile") if items is None else items
    items = [Item(i.pile.code, i.band, i.energy_wh, i.tariff_price) for i in rows]
    if statement.terms_id is None:
        return compute(items, Terms.none()), True
    try:
        terms = open_terms(statement.terms.sealed, reader=reader)
    except sealed.NotAReader:
        return compute(items, Terms.none()), False
    return compute(items, terms), True
