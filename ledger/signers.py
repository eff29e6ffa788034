"""Who may sign transactions: institution nodes (keys from the consortium definition) and devices
(keys the registry admitted through the ledger). The ledger does not import the registry, so the app
that owns device keys registers a resolver here."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterable

from ledger.chain.crypto import PublicKey
from ledger.chain.tx import Transaction

DeviceResolver = Callable[[str], Iterable[PublicKey]]
RevokedResolver = Callable[[str], Iterable[tuple[PublicKey, int]]]
_device_resolver: DeviceResolver | None = None
_revoked_resolver: RevokedResolver | None = None


def register_device_resolver(resolver: DeviceResolver, revoked: RevokedResolver | None = None) -> None:
    """`resolver(device_id)` returns the device's currently valid public keys; `revoked(device_id)`
    its revoked ones with the block height of their revocation (only to explain a refusal)."""
    global _device_resolver, _revoked_resolver
    _device_resolver, _revoked_resolver = resolver, revoked


# Within one batch (a submission request, a step of the replica, one block applied) a device's keys
# are looked up once. A contract that changes a device's keys calls `forget_device` so that later
# transactions of the same block see the change.
_scope: ContextVar[dict | None] = ContextVar("pilechain_device_keys", default=None)


@contextmanager
def lookup_scope():
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def forget_device(device_id: str) -> None:
    scope = _scope.get()
    if scope is not None:
        scope.pop(device_id, None)


def _device_keys(device_id: str) -> list[PublicKey]:
    scope = _scope.get()
    if scope is None:
        return list(_device_resolver(device_id))
    if device_id not in scope:
        scope[device_id] = list(_device_resolver(device_id))
    return scope[device_id]


# Verifying is a pure function of (transaction, signature, key): a transaction checked when the
# replica admitted it or validated its block is not checked again, at a cost, when the replica asks
# once more on a newer state (it keeps no verdict across blocks: a key may be registered or revoked)
# or when the block is applied and the key is looked up once more.
_VERIFIED_MAX = 200_000
_verified: OrderedDict = OrderedDict()


def _verifies(tx: Transaction, key: PublicKey) -> bool:
    memo = (tx.id, tx.signature, key.kind, key.hex)
    if memo in _verified:
        _verified.move_to_end(memo)
        return True
    if not tx.verify(key):
        return False
    _verified[memo] = True
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return True


def signer_problem(tx: Transaction, node_key: Callable[[str], PublicKey | None]) -> str | None:
    """None when the transaction's signature holds for its signer's current key, else why not."""
    if tx.signer_kind == "node":
        key = node_key(tx.signer_id)
        if key is None:
            return f"unknown institution node {tx.signer_id}"
        return None if _verifies(tx, key) else "bad signature"
    if _device_resolver is None:
        return "no device keys are registered on this node"
    keys = [k for k in _device_keys(tx.signer_id) if k.kind == tx.key_kind]
    if keys and any(_verifies(tx, k) for k in keys):
        return None
    for key, height in (_revoked_resolver(tx.signer_id) if _revoked_resolver else ()):
        if key.kind == tx.key_kind and tx.verify(key):
            return f"signed with a key of {tx.signer_id} that was revoked at block {height}"
    if not keys:
        return f"unknown device {tx.signer_id} or no valid {tx.key_kind} key for it"
    return "bad signature"
