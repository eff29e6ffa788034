"""An operational failure is not a verdict (ledger.failures, ledger.execution).

What an exception raised while a block is applied means, decided once for a lone transaction and
for a run: a contract's refusal or bug is a rejection with a stable reason; a failure of this node or
of its database engine aborts the whole block and leaves the database as it was. The executor tests
run on the suite's real database (PostgreSQL in CI, SQLite without DATABASE_URL) with contracts
registered here that fail the way a node's database fails.
"""

from __future__ import annotations

import decimal
import errno
import itertools
import sqlite3
import threading

import psycopg2
import psycopg2.errors
import pytest
import redis
from billiard.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import (
    DataError, IntegrityError, InterfaceError, InternalError, NotSupportedError, OperationalError,
    ProgrammingError, connection,
)
from django.db.transaction import TransactionManagementError

from ledger.chain.tx import Transaction
from ledger.contracts import ContractRejected, contracts
from ledger.execution import node_state, replay_all
from ledger.failures import (
    BACKEND, BUG, CONTRACT_ERROR, OPERATIONAL, REFUSAL, NodeFault, as_fault, classify, describe,
)
from ledger.models import Anchor, Block, CommittedTx
from ledger.signals import node_alert
from tests.ledger.test_execution import KEYS, anchor_tx, apply, commit, role_of

_nonce = itertools.count()


# Classification ---------------------------------------------------------------------------------------

def raised(exc: BaseException, module: str = "contracts_of_some_app") -> BaseException:
    """`exc` as raised by code of `module` (its traceback's frame carries the module's name)."""
    namespace = {"__name__": module}
    exec("def fail(exc):\n    raise exc\n", namespace)  # noqa: S102 - a fixed snippet
    try:
        namespace["fail"](exc)
    except BaseException as caught:  # noqa: BLE001 - handed back to the test
        return caught
    raise AssertionError("not raised")


@pytest.mark.parametrize("exc, kind", [
    (ContractRejected("pile P-1 is not registered"), REFUSAL),
    (ValidationError({"code": "too long"}), REFUSAL),
    # A contract's own bug: every node hits it alike.
    (KeyError("connector_id"), BUG),
    (TypeError("'NoneType' object is not subscriptable"), BUG),
    (AttributeError("'dict' object has no attribute 'code'"), BUG),
    (ValueError("invalid literal for int()"), BUG),
    (ZeroDivisionError("division by zero"), BUG),
    (decimal.InvalidOperation(), BUG),
    (RecursionError("maximum recursion depth exceeded"), BUG),
    # This node's database, disk, memory, services.
    (OperationalError("server closed the connection unexpectedly"), OPERATIONAL),
    (OperationalError("canceling statement due to lock timeout"), OPERATIONAL),
    (OperationalError("could not serialize access due to concurrent update"), OPERATIONAL),
    (OperationalError("database or disk is full"), OPERATIONAL),
    (InterfaceError("connection already closed"), OPERATIONAL),
    (InternalError("current transaction is aborted"), OPERATIONAL),
    (psycopg2.OperationalError("terminating connection due to administrator command"), OPERATIONAL),
    (psycopg2.errors.QueryCanceled("canceling statement due to statement timeout"), OPERATIONAL),
    (psycopg2.errors.AdminShutdown(), OPERATIONAL),
    (psycopg2.InterfaceError("connection already closed"), OPERATIONAL),
    (sqlite3.OperationalError("database is locked"), OPERATIONAL),
    (OSError(errno.ENOSPC, "No space left on device"), OPERATIONAL),
    (ConnectionResetError(), OPERATIONAL),
    (TimeoutError(), OPERATIONAL),
    (MemoryError(), OPERATIONAL),
    (redis.exceptions.ConnectionError("Connection refused"), OPERATIONAL),
    (SoftTimeLimitExceeded(), OPERATIONAL),
    # Different from one database engine to another: never a verdict either.
    (IntegrityError("duplicate key value violates unique constraint"), BACKEND),
    (DataError("value too long for type character varying(64)"), BACKEND),
    (ProgrammingError("relation does not exist"), BACKEND),
    (NotSupportedError(), BACKEND),
    (TransactionManagementError("An error occurred in the current transaction."), BACKEND),
    (psycopg2.errors.UniqueViolation(), BACKEND),  # COPY raises the driver's own errors
    (psycopg2.DataError(), BACKEND),
    (sqlite3.IntegrityError("UNIQUE constraint failed"), BACKEND),
    (NodeFault(OperationalError("lost"), kind=OPERATIONAL), OPERATIONAL),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v)
def test_what_an_exception_means(exc, kind):
    assert classify(raised(exc)) == kind


@pytest.mark.parametrize("exc, module", [
    # psycopg2 refuses a NUL character with a ValueError raised under Django's cursor; SQLite stores it.
    (ValueError("A string literal cannot contain NUL (0x00) characters."), "django.db.backends.utils"),
    # sqlite3 refuses an integer beyond 64 bits with an OverflowError; PostgreSQL with a DataError.
    (OverflowError("Python int too large to convert to SQLite INTEGER"), "django.db.backends.sqlite3.base"),
    (ValueError("started_at: an aware datetime is required"), "ledger.state.bulk"),  # only COPY checks it
    (ValidationError("not a decimal"), "ledger.state.bulk"),
    (TypeError("not all arguments converted"), "psycopg2.extras"),
])
def test_whatever_the_database_layer_raises_depends_on_the_engine(exc, module):
    assert classify(raised(exc, module)) == BACKEND
    again = type(exc)(*exc.args)  # the same exception from a contract's own code
    assert classify(raised(again)) in (BUG, REFUSAL)


def test_a_fault_outside_the_contracts_is_the_nodes_and_keeps_where_it_happened():
    fault = as_fault(raised(OperationalError("gone")), height=7)
    assert (fault.kind, fault.height, fault.error) == (OPERATIONAL, 7, "OperationalError")
    assert as_fault(raised(KeyError("x"))).kind == "internal"  # the executor's own bug: not a verdict
    assert as_fault(fault, height=8, tx_id="ab").height == 7 and fault.tx_id == "ab"
    assert describe(OperationalError("server closed\nthe connection")) == "OperationalError: server closed"


# The executor, on the real database ---------------------------------------------------------------------

pytestmark = pytest.mark.django_db


class Flags:
    fail = True


@pytest.fixture
def register():
    """Register contracts for the test; they are gone afterwards."""
    added = []

    def add(type_, handler=None, *, run=None):
        if run is not None:
            contracts.register_run(type_)(run)
        else:
            contracts.register(type_)(handler)
        added.append(type_)

    yield add
    for type_ in added:
        contracts._contracts.pop(type_, None)


def tx(type_: str, **payload) -> Transaction:
    return Transaction.create(chain_id="test", type=type_, payload=payload, signer="node:OPERATOR-A",
                              key=KEYS["OPERATOR-A"], nonce=f"f{next(_nonce)}")


def save_anchor(ctx, transaction: Transaction, **fields) -> Anchor:
    row = Anchor(uid=ctx.derive_uuid("anchor"), kind="test", root="ab" * 32, count=1, reference="",
                 institution=ctx.signer_id, height=ctx.block_height, tx_id=transaction.id)
    for name, value in fields.items():
        setattr(row, name, value)
    ctx.save(row)
    return row


def snapshot() -> tuple:
    state = node_state()
    return (state.applied_height, state.state_root, state.rows_muhash, CommittedTx.objects.count(),
            sorted(Anchor.objects.values_list("tx_id", flat=True)), list(Block.objects.filter(applied=True)
                                                                          .values_list("height", flat=True)))


def test_an_operational_error_in_a_contract_aborts_the_block_and_a_retry_applies_it(register):
    """The whole block, not the one transaction: the good anchor before it is not kept either; once the
    database answers again the block is applied as it would have been, with nothing rejected."""
    flags = Flags()

    def flaky(ctx, transaction):
        save_anchor(ctx, transaction)
        if flags.fail:
            raise OperationalError("server closed the connection unexpectedly")

    register("test.flaky", flaky)
    good, bad = anchor_tx(reference="before"), tx("test.flaky")
    commit(good, bad)
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert (info.value.kind, info.value.height, info.value.tx_id, info.value.error) == (
        OPERATIONAL, 1, bad.id, "OperationalError")
    assert snapshot() == before

    flags.fail = False
    [done] = apply()
    assert (done.applied, done.rejected) == (2, 0)
    assert set(CommittedTx.objects.values_list("status", flat=True)) == {"applied"}
    replay_all(role_of=role_of)  # the same root as a node that never failed
    assert node_state().state_root == done.state_root


def _a_real_timeout(ctx, transaction):
    """The database itself gives up on the statement: PostgreSQL's statement timeout, SQLite
    interrupted (what a busy or shutting-down server does to a node, and to no other)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = '20ms'")
            cursor.execute("SELECT pg_sleep(2)")
        else:
            raw = connection.connection
            timer = threading.Timer(0.05, raw.interrupt)
            timer.start()
            try:
                cursor.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) "
                               "SELECT count(*) FROM c")
            finally:
                timer.cancel()
    save_anchor(ctx, transaction)


def test_a_statement_the_database_cancels_is_not_a_verdict(register):
    register("test.slow", _a_real_timeout)
    commit(anchor_tx(reference="kept for later"), tx("test.slow"))
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert info.value.kind == OPERATIONAL and isinstance(info.value.cause, OperationalError)
    assert snapshot() == before
    assert not CommittedTx.objects.filter(status="rejected").exists()


@pytest.mark.django_db(transaction=True)
def test_a_connection_terminated_while_applying_leaves_the_database_unchanged(register):
    """pg_terminate_backend from another session while the block is half applied: the block's
    transaction is gone with the connection, Django drops the connection, the next attempt opens a new
    one and applies the block."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: pg_terminate_backend (tests/consortium covers the embedded mode)")
    flags = Flags()

    def cut_off(ctx, transaction):
        save_anchor(ctx, transaction)
        if flags.fail:
            flags.fail = False
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                [pid] = cursor.fetchone()
            other = psycopg2.connect(**connection.get_connection_params())
            try:
                with other, other.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            finally:
                other.close()
            save_anchor(ctx, transaction, uid=ctx.derive_uuid("second"), tx_id=transaction.id + "-2")

    register("test.cut_off", cut_off)
    commit(anchor_tx(reference="before the cut"), tx("test.cut_off"))
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert info.value.kind == OPERATIONAL
    assert snapshot() == before  # read on a new connection
    [done] = apply()
    assert (done.applied, done.rejected) == (2, 0)


def test_a_duplicate_row_is_not_a_verdict(register):
    """An IntegrityError says a contract wrote without checking first; what it says differs between
    engines, so it is never committed as the transaction's outcome: the node stops on the block."""
    first = anchor_tx(reference="first")
    commit(first)
    apply()

    def duplicate(ctx, transaction):
        save_anchor(ctx, transaction, uid=Anchor.objects.get(tx_id=first.id).uid)

    register("test.duplicate", duplicate)
    bad = tx("test.duplicate")
    commit(bad)
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert (info.value.kind, info.value.tx_id) == (BACKEND, bad.id)
    assert isinstance(info.value.cause, IntegrityError)
    assert snapshot() == before


@pytest.mark.parametrize(("fields", "reason"), [
    ({"kind": "k" * 100}, "ledger.anchor.kind must be at most 64 characters long"),
    ({"reference": "a\x00b"}, "ledger.anchor.reference must not contain U+0000"),
], ids=["too-long", "nul"])
def test_what_one_engine_would_refuse_and_another_keep_is_one_coded_rejection(register, fields, reason):
    """Unchecked, the engines disagree: PostgreSQL refuses the row (a DataError, or psycopg2's
    ValueError for a NUL), SQLite stores it. Every row is checked before it is written
    (ledger.state.rows.check_storable), so every node rejects it with the same reason instead."""
    register("test.unchecked", lambda ctx, transaction: save_anchor(ctx, transaction, **fields))
    commit(tx("test.unchecked"))
    [done] = apply()
    assert (done.applied, done.rejected) == (0, 1)
    assert CommittedTx.objects.get(type="test.unchecked").reason == reason


@pytest.mark.parametrize("fields", [
    {"kind": "k" * 100},  # beyond the column: PostgreSQL raises DataError, SQLite keeps it
    {"reference": "a\x00b"},  # psycopg2 refuses a NUL with a ValueError, SQLite keeps it
], ids=["too-long", "nul"])
def test_what_one_engine_refuses_is_never_a_verdict_when_it_reaches_the_database(register, fields, monkeypatch):
    """Should a row get past the check, the executor never turns the database's refusal into a
    rejection (it would differ from the SQLite nodes' verdict and carry the driver's words): a node
    on PostgreSQL stops on the block and says so."""
    import ledger.execution

    monkeypatch.setattr(ledger.execution, "check_storable", lambda instance: None)
    register("test.unchecked", lambda ctx, transaction: save_anchor(ctx, transaction, **fields))
    commit(tx("test.unchecked"))
    before = snapshot()
    if connection.vendor == "postgresql":
        with pytest.raises(NodeFault) as info:
            apply()
        assert info.value.kind == BACKEND
        assert snapshot() == before
    else:
        [done] = apply()
        assert (done.applied, done.rejected) == (1, 0)
    assert not CommittedTx.objects.filter(status="rejected").exists()


@pytest.mark.parametrize("bug", [KeyError("connector_id"), AttributeError("'NoneType' object has no attribute 'pk'"),
                                 ZeroDivisionError("division by zero")], ids=lambda e: type(e).__name__)
def test_a_bug_in_a_contract_is_a_rejection_with_a_stable_code_and_an_alert(register, bug,
                                                                            django_capture_on_commit_callbacks):
    """Every node runs the same code on the same state: a crafted transaction that trips a bug is
    rejected everywhere (it must not halt the consortium), with a code rather than Python's words."""
    def buggy(ctx, transaction):
        save_anchor(ctx, transaction)
        raise bug

    alerts = []
    register("test.buggy", buggy)
    node_alert.connect(receiver := lambda sender, alert, **kw: alerts.append(alert), weak=False)
    try:
        good, bad = anchor_tx(reference="fine"), tx("test.buggy")
        commit(good, bad)
        with django_capture_on_commit_callbacks(execute=True):
            [done] = apply()
    finally:
        node_alert.disconnect(receiver)
    assert (done.applied, done.rejected) == (1, 1)
    assert CommittedTx.objects.get(tx_id=bad.id).reason == CONTRACT_ERROR
    assert list(Anchor.objects.values_list("tx_id", flat=True)) == [good.id]
    [alert] = alerts
    assert (alert["code"], alert["tx_id"], alert["type"], alert["height"]) == ("contract_error", bad.id, "test.buggy", 1)
    assert alert["error"].startswith(type(bug).__name__)


# Runs (ledger.runs) ------------------------------------------------------------------------------------

def _stage_anchors(run, *, uid_of=None):
    for ctx in run:
        with run.item(ctx):
            if ctx.tx.payload.get("reject"):
                ctx.reject("refused by the run")
            if ctx.tx.payload.get("boom"):
                raise TypeError("unsupported operand type(s)")
            uid = uid_of(ctx) if uid_of else ctx.derive_uuid("anchor")
            ctx.stage_insert(Anchor(uid=uid, kind="run", root="cd" * 32, count=1, reference=ctx.tx.payload["ref"],
                                    institution=ctx.signer_id, height=ctx.block_height, tx_id=ctx.tx.id))


def test_an_operational_error_in_a_run_aborts_the_block_without_falling_back(register, monkeypatch):
    """Before, the run was rolled back and its transactions applied one by one, each failing again and
    committed as rejected with the error's text: a verdict made of one node's outage."""
    from ledger.runs import Run

    flags = Flags()
    real_flush = Run.flush

    def flush(self):
        if flags.fail:
            raise OperationalError("could not serialize access due to concurrent update")
        real_flush(self)

    monkeypatch.setattr(Run, "flush", flush)
    register("test.run_item", run=_stage_anchors)
    items = [tx("test.run_item", ref=f"r{i}") for i in range(3)]
    commit(anchor_tx(reference="lone"), *items)
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert (info.value.kind, info.value.tx_id) == (OPERATIONAL, items[0].id)
    assert snapshot() == before

    flags.fail = False
    [done] = apply()
    assert (done.applied, done.rejected) == (4, 0)


def test_a_duplicate_row_in_a_run_is_not_a_verdict(register):
    """On PostgreSQL a run writes by COPY, whose errors come from the driver itself, unwrapped by Django;
    on SQLite by bulk_create. Either way the block stops on this node."""
    first = anchor_tx(reference="first")
    commit(first)
    apply()
    taken = Anchor.objects.get(tx_id=first.id).uid
    register("test.run_item", run=lambda run: _stage_anchors(run, uid_of=lambda ctx: taken))
    commit(tx("test.run_item", ref="dup"), tx("test.run_item", ref="dup2"))
    before = snapshot()
    with pytest.raises(NodeFault) as info:
        apply()
    assert info.value.kind == BACKEND
    assert snapshot() == before


def test_a_bug_in_a_run_falls_back_and_rejects_only_its_transaction_with_the_code(register):
    register("test.run_item", run=_stage_anchors)
    items = [tx("test.run_item", ref="a"), tx("test.run_item", ref="b", boom=True), tx("test.run_item", ref="c", reject=True),
             tx("test.run_item", ref="d")]
    commit(*items)
    [done] = apply()
    assert (done.applied, done.rejected) == (2, 2)
    reasons = dict(CommittedTx.objects.values_list("tx_id", "reason"))
    assert [reasons[t.id] for t in items] == ["", CONTRACT_ERROR, "refused by the run", ""]
    assert sorted(Anchor.objects.values_list("reference", flat=True)) == ["a", "d"]
