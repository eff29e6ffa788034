"""The consortium definition in force on this node's chain: what contracts read.

The genesis commits to one definition (its digest is in the state before block 1). A node stores that
definition with its state when it creates the state, and applies every block under it: contracts
read it from here, never from the file the process loaded (which may have been edited since, and is
cached until the process restarts). While a block is applied the executor holds it in a context
variable, so the rules read it without a query.

This module also makes that state row (`node_state`): at the genesis it stores the definition (the
file's, ledger.definition_file, unless one is given) and the state root before block 1 bound to it.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
from zoneinfo import ZoneInfo

from django.db import connection

from ledger import definition_file
from ledger.chain.encoding import canonical, sha256
from ledger.consortium import Consortium
from ledger.models import NodeState
from ledger.signals import consortium_loaded
from ledger.state.muhash import MuHash

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
        data = node_state().definition
        if not data:
            raise NoDefinition("this node's ledger state holds no consortium definition")
        _stored[database] = parse(data)
    return _stored[database]


# --- the state before block 1 ----------------------------------------------------------------------

GENESIS_STATE_ROOT = sha256(b"pilechain genesis state").hex()


def genesis_state_root(definition: Consortium) -> str:
    """The state before block 1 commits to the consortium definition, so nodes started with different
    definitions disagree at the first block, and `ledger genesis` can show the hash to compare."""
    return sha256(canonical({"genesis": definition.digest()})).hex()


def initial_state_root(definition: dict | None = None) -> str:
    """Before block 1: bound to the consortium definition (the node's own when none is given)."""
    if definition:
        return genesis_state_root(parse(definition))
    return genesis_state_root(definition_file.consortium()) if definition_file.configured() else GENESIS_STATE_ROOT


def _file_definition() -> dict:
    return definition_file.consortium().to_dict() if definition_file.configured() else {}


def node_state(*, definition: dict | None = None) -> NodeState:
    """This node's state row, created at the genesis with the definition it commits to (`definition`,
    else the file's)."""
    state = NodeState.objects.first()
    if state is None:
        definition = definition or _file_definition()
        state = NodeState.objects.create(
            applied_height=0, state_root=initial_state_root(definition), rows_muhash=MuHash().to_hex(),
            definition=definition,
        )
    elif not state.definition and state.applied_height == 0 and (definition := _file_definition()):
        # A state made before the node had its definition: the genesis root is bound to it now.
        state.definition = definition
        state.state_root = initial_state_root(definition)
        state.save(update_fields=["definition", "state_root"])
    return state


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
