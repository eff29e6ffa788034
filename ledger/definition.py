"""The consortium definition in force on this node's chain: what contracts read.

The genesis commits to one definition (its digest is in the state before block 1). A node stores that
definition with its state when it creates the state, and applies every block under it: contracts
read it from here, never from the file the process loaded (which may have been edited since, and is
cached until the process restarts). While a block is applied the executor holds it in a context
variable, so the rules read it without a query.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from zoneinfo import ZoneInfo

from django.db import connection

from ledger.chain.encoding import canonical
from ledger.consortium import Consortium
from ledger.signals import consortium_loaded

_applying: contextvars.ContextVar[Consortium | None] = contextvars.ContextVar("definition_in_force", default=None)


class NoDefinition(RuntimeError):
    """This node's state holds no consortium definition (it has no consortium)."""


@functools.lru_cache(maxsize=8)
def _parse(text: str) -> Consortium:
    return Consortium.from_dict(json.loads(text))


def parse(data: dict) -> Consortium:
    """The stored definition as an object; parsed once per distinct content."""
    return _parse(canonical(data).decode())


_stored: dict[str, Consortium] = {}


def stored() -> Consortium:
    """The definition in force: the one applying now, else the one this node's state holds (read once
    per database in a process: it is written at the genesis and never changes)."""
    applying = _applying.get()
    if applying is not None:
        return applying
    database = str(connection.settings_dict["NAME"])
    if database not in _stored:
        from ledger.execution import node_state  # ledger.execution imports this module

        data = node_state().definition
        if not data:
            raise NoDefinition("this node's ledger state holds no consortium definition")
        _stored[database] = parse(data)
    return _stored[database]


@contextlib.contextmanager
def in_force(definition: Consortium | None):
    """Rules read `definition` while a block (or a dry run) is applied under it."""
    token = _applying.set(definition)
    try:
        yield definition
    finally:
        _applying.reset(token)


def zone() -> ZoneInfo:
    """The consortium's business time zone."""
    return stored().rules.zone


_mirrored: set[tuple[str, str]] = set()


def mirror_members(definition: Consortium) -> None:
    """The apps' tables of members (registry's institutions) follow the definition in force before
    any contract reads them: a row missing on one node would otherwise make a different verdict there.
    Once per database and definition in a process."""
    key = (str(connection.settings_dict["NAME"]), definition.digest())
    if key not in _mirrored:
        consortium_loaded.send(sender=Consortium, definition=definition)
        _mirrored.add(key)


def forget() -> None:
    """Tests swap definitions and databases under one process."""
    _parse.cache_clear()
    _stored.clear()
    _mirrored.clear()
