"""What an exception raised while a block is applied means: a verdict, or a failure of this node.

Every node runs the same contracts on the same state, so what a contract decides is the same
everywhere and is committed as the transaction's outcome. What the node's own machinery does is not:
a lost connection, a lock or statement timeout, a serialization failure, a full disk happen on one
node and not on the others, and the database engines differ (PostgreSQL refuses a NUL character or
a string longer than its column, SQLite takes both). Such a failure must never be written into the
chain as a verdict: the node aborts the whole block, changes nothing, and tries again
(ledger.runtime.driver); see docs/consortium.md, "When a node cannot apply a block".

    REFUSAL       the contract refused (ContractRejected, ValidationError): a rejection, its reason
    BUG           anything else the contract's own code raised (KeyError, TypeError, ...): every node
                  hits it alike, so a rejection with the stable reason CONTRACT_ERROR and an alert
    OPERATIONAL   node-local: the database connection or server, the disk, memory, Redis, the worker
    BACKEND       depends on the database engine: integrity and data errors, SQL errors, and anything
                  raised inside the database layer (the driver, Django's backends, ledger.state.bulk);
                  contracts check their inputs before writing so that none is ever reached

OPERATIONAL and BACKEND abort the block on this node (`NodeFault`), and so does INTERNAL: whatever
the executor's own code raises outside the contracts. No Django beyond its exception classes; no I/O.
"""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.db import Error as DjangoDatabaseError
from django.db import InterfaceError, InternalError, OperationalError

from ledger.contracts import ContractRejected

REFUSAL = "refusal"
BUG = "bug"
OPERATIONAL = "operational"
BACKEND = "backend"
# A failure of the executor itself (not of a contract): this node cannot apply the block either.
INTERNAL = "internal"
NODE_LOCAL = frozenset({OPERATIONAL, BACKEND, INTERNAL})

# The reason of a transaction whose contract raised an unexpected exception: a stable code, the same
# on every node. The exception's text (Python's or a library's, maybe translated, maybe different in
# another version) goes to the log and the alert, never into committed data.
CONTRACT_ERROR = "contract_error"

# Modules whose frames make an exception the database layer's: what they raise (a ValueError for a
# NUL character from psycopg2, an OverflowError from sqlite3, a formatting error of a COPY line)
# depends on the engine the node runs.
DATABASE_LAYER = ("django.db.backends", "psycopg2", "psycopg", "sqlite3", "_sqlite3", "ledger.state.bulk")
# Packages of the node's other services: their errors are about this node's worker, broker or cache.
NODE_SERVICES = ("redis", "kombu", "celery", "billiard")

_TRANSIENT_DJANGO = (OperationalError, InterfaceError, InternalError)
_TRANSIENT_NAMES = ("OperationalError", "InterfaceError", "InternalError")


class NodeFault(Exception):
    """Applying a block failed on this node for a reason of its own: the block's database transaction
    is rolled back and the block is applied again later, never differently."""

    def __init__(self, cause: BaseException, *, kind: str, height: int | None = None, tx_id: str | None = None):
        self.cause = cause
        self.kind = kind
        self.height = height
        self.tx_id = tx_id
        super().__init__(f"{kind} failure: {describe(cause)}")

    @property
    def error(self) -> str:
        return type(self.cause).__name__

    def at(self, *, height: int | None = None, tx_id: str | None = None) -> "NodeFault":
        self.height = self.height if self.height is not None else height
        self.tx_id = self.tx_id if self.tx_id is not None else tx_id
        return self


def classify(exc: BaseException) -> str:
    """REFUSAL, BUG, OPERATIONAL or BACKEND for an exception raised by a contract (or a run)."""
    if isinstance(exc, NodeFault):
        return exc.kind
    if isinstance(exc, ContractRejected):
        return REFUSAL
    driver = _driver_error_kind(exc)
    if driver is not None:
        return driver
    if isinstance(exc, (MemoryError, OSError)) or _from_modules(type(exc), NODE_SERVICES):
        return OPERATIONAL
    if _raised_in_database_layer(exc):
        return BACKEND
    if isinstance(exc, ValidationError):
        return REFUSAL
    return BUG


def is_node_local(exc: BaseException) -> bool:
    return classify(exc) in NODE_LOCAL


def as_fault(exc: BaseException, **where) -> NodeFault:
    """An exception that stopped a block from being applied, outside any contract: the executor's
    own reads and writes fail for this node's reasons, or its own bug (INTERNAL)."""
    if isinstance(exc, NodeFault):
        return exc.at(**where)
    kind = classify(exc)
    return NodeFault(exc, kind=kind if kind in NODE_LOCAL else INTERNAL, **where)


def describe(exc: BaseException, limit: int = 300) -> str:
    """The exception for a log line or a status page (node-local; never committed)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:limit] if first else type(exc).__name__


def _driver_error_kind(exc: BaseException) -> str | None:
    if isinstance(exc, DjangoDatabaseError):
        return OPERATIONAL if isinstance(exc, _TRANSIENT_DJANGO) else BACKEND
    for name in ("psycopg2", "psycopg", "sqlite3"):
        module = sys.modules.get(name)
        base = getattr(module, "Error", None)
        if isinstance(base, type) and isinstance(exc, base):
            transient = tuple(getattr(module, n) for n in _TRANSIENT_NAMES if isinstance(getattr(module, n, None), type))
            return OPERATIONAL if isinstance(exc, transient) else BACKEND
    return None


def _from_modules(cls: type, prefixes: tuple[str, ...]) -> bool:
    return any(_in(getattr(klass, "__module__", "") or "", prefixes) for klass in cls.__mro__)


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _raised_in_database_layer(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if _in(tb.tb_frame.f_globals.get("__name__") or "", DATABASE_LAYER):
            return True
        tb = tb.tb_next
    return False
