"""This node's place in the consortium: the definition it was started with, its keys, its peers."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ledger.chain.encoding import canonical, sha256
from ledger.consortium import Consortium, ConsortiumError, Member
from ledger import definition as in_force
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


class NotHosted(PermissionError):
    """This node holds no signing key for that institution."""


@functools.cache
def _hosted_keys() -> dict:
    definition = consortium()
    hosted = {}
    for code, key in node_keys.load_hosted().items():
        member = definition.member(code)
        if member is None or member.signing_key != key.public_key:
            raise NotConfigured(f"the hosted key for {code} is not the one the consortium definition lists")
        hosted[code] = key
    return hosted


def signing_key_for(code: str):
    """The key this node signs an institution's transactions with: its own, or a hosted one."""
    if code == me().code:
        return keys().signing
    key = _hosted_keys().get(code)
    if key is None:
        raise NotHosted(f"node {me().code} does not sign for {code}")
    return key


def signs_for(code: str) -> bool:
    try:
        signing_key_for(code)
        return True
    except (NotHosted, NotConfigured):
        return False


def role_of(code: str) -> str | None:
    return consortium().role_of(code)


def genesis_state_root(definition: Consortium) -> str:
    """The state before block 1 commits to the consortium definition, so nodes started with different
    definitions disagree at the first block, and `ledger genesis` can show the hash to compare."""
    return sha256(canonical({"genesis": definition.digest()})).hex()


def announce_consortium() -> bool:
    """Tell the apps who the members are (they keep tables of them); False when not configured."""
    from ledger.signals import consortium_loaded

    if not configured():
        return False
    consortium_loaded.send(sender=Consortium, definition=consortium())
    return True


def reset_caches() -> None:
    in_force.forget()
    consortium.cache_clear()
    keys.cache_clear()
    _hosted_keys.cache_clear()
