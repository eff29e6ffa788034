"""This node's place in the consortium: the definition it was started with, its keys, its peers."""

from __future__ import annotations

import functools

from django.conf import settings

from ledger.consortium import Consortium, Member
from ledger import definition as in_force
from ledger import node_keys
from ledger.definition import genesis_state_root  # re-exported: callers read it from here
from ledger.definition_file import (  # re-exported: callers read them from here
    NotConfigured,
    configured,
    consortium,
    consortium_path,
)
from ledger.signals import consortium_loaded


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


@functools.cache
def pseudonym_key() -> bytes:
    """The secret keying drivers' id-tag pseudonyms at this node (node_keys.pseudonym_key)."""
    return node_keys.pseudonym_key()


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


def announce_consortium() -> bool:
    """Tell the apps who the members are (they keep tables of them); False when not configured."""
    if not configured():
        return False
    consortium_loaded.send(sender=Consortium, definition=consortium())
    return True


def reset_caches() -> None:
    in_force.forget()
    consortium.cache_clear()
    keys.cache_clear()
    pseudonym_key.cache_clear()
    _hosted_keys.cache_clear()
