"""This node's place in the consortium: the definition it was started with, its keys, its peers."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ledger.chain.encoding import canonical, sha256
from ledger.consortium import Consortium, ConsortiumError, Member
from ledger import node_keys


class NotConfigured(RuntimeError):
    """This node has no consortium definition or no keys: it cannot take part in consensus."""


def consortium_path() -> Path:
    return Path(settings.LEDGER_CONSORTIUM_FILE)


@functools.cache
def consortium() -> Consortium:
    path = consortium_path()
    if not path.exists():
        raise NotConfigured(f"no consortium definition at {path} (see docs/consortium.md)")
    try:
        return Consortium.load(path)
    except ConsortiumError as exc:
        raise NotConfigured(str(exc)) from exc


def configured() -> bool:
    try:
        consortium()
        return True
    except NotConfigured:
        return False


def me() -> Member:
    member = consortium().member(settings.NODE_CODE)
    if member is None:
        raise NotConfigured(f"this node ({settings.NODE_CODE}) is not a member of {consortium_path()}")
    return member


@functools.cache
def keys() -> node_keys.NodeKeys:
    loaded = node_keys.load()
    if loaded.signing.public_key != me().signing_key:
        raise NotConfigured("this node's signing key is not the one the consortium definition lists for it")
    return loaded


def role_of(code: str) -> str | None:
    return consortium().role_of(code)


def genesis_state_root(definition: Consortium) -> str:
    """The state before block 1 commits to the consortium definition, so nodes started with different
    definitions disagree at the first block, and `ledger genesis` can show the hash to compare."""
    return sha256(canonical({"genesis": definition.digest()})).hex()


def reset_caches() -> None:
    consortium.cache_clear()
    keys.cache_clear()
