"""Sealed sections on a node and in contracts (ledger.chain.sealed does the cryptography).

A service seals at its node for the named readers (their X25519 keys as the consortium definition
publishes them); a reader's node opens a section with its own X25519 key (ledger.node_keys), and no
other node can. A contract never opens anything: it checks that a section is sealed for exactly the
readers the rule names, with the keys the definition in force publishes, and keeps it as it came.
Settlement seals an operator's terms with a grid company this way; the registry a station's private
fields.
"""

from __future__ import annotations

from typing import Any

from ledger import definition as in_force
from ledger.chain import sealed
from ledger.runtime import node


def readers_for(codes) -> dict[str, bytes]:
    """The published X25519 keys of `codes`, from this node's consortium definition."""
    definition = node.consortium()
    return {code: sealed.x25519_public_from_hex(definition.member(code).encryption_key) for code in sorted(set(codes))}


def seal_for(plaintext: Any, codes) -> dict:
    return sealed.seal(plaintext, readers_for(codes))


def open_here(section: Any, *, reader: str | None = None) -> Any:
    """The plaintext, opened with this node's own key for its institution (or `reader`, which this
    node's key must then belong to). sealed.NotAReader when the section is not sealed to it,
    sealed.SealedTampered when it fails to open."""
    me = reader or node.me().code
    return sealed.open_sealed(section, me, node.keys().encryption.private)


def is_reader_here(section: Any) -> bool:
    """Whether this node's institution is one of the section's readers (without opening it)."""
    try:
        return node.me().code in sealed.section_readers(section)
    except sealed.SealError:
        return False


def readers_problem(section: Any, expected, *, what: str) -> str | None:
    """For a contract: None when `section` is sealed for exactly `expected` with the keys the
    definition in force publishes, else why not (`what` names the section in the reason)."""
    try:
        readers = sealed.section_readers(section)
    except sealed.SealError as exc:
        return f"the sealed {what} are malformed: {exc}"
    if sorted(readers) != sorted(set(expected)):
        return f"the {what} must be sealed for exactly {', '.join(sorted(set(expected)))}"
    definition = in_force.stored()  # read by a contract: the definition in force, not the file
    for entry in section["readers"]:
        member = definition.member(entry["id"])
        if member is None or entry["pk"] != member.encryption_key:
            return f"the {what} are not sealed to {entry['id']}'s published key"
    return None


def members_with_roles(*roles: str) -> list[str]:
    """The codes of the definition in force's members with one of `roles`, by code point (for
    contracts and the services that must name the same readers)."""
    return sorted(m.code for m in in_force.stored().members if m.role in roles)
