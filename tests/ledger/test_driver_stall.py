"""A node that cannot apply a block: the drain loop retries with backoff, says so in its status and in
/healthz, and raises the alert apply_stalled after a bounded time (ledger.runtime.stall, driver)."""

from __future__ import annotations

import itertools
import json

import pytest
from django.db import IntegrityError, OperationalError

from config import health
from ledger import selectors
from ledger.chain.tx import Transaction
from ledger.contracts import contracts
from ledger.execution import node_state
from ledger.models import Anchor, CommittedTx
from ledger.runtime import lease
from ledger.runtime import stall as stall_module
from ledger.runtime.driver import Driver
from ledger.runtime.stall import Stall, backoff_s
from ledger.signals import node_alert
from tests.ledger.test_execution import commit

pytestmark = pytest.mark.django_db

_nonce = itertools.count()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Replica:
    """What the driver tells its replica after applying a block."""

    def __init__(self):
        self.applied_blocks = []

    def applied(self, height, root):
        self.applied_blocks.append((height, root))


class Failing:
    error: Exception | None = OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def failing(ledger_node):
    """A contract `test.stall` that raises `failing.error` while it is set, else writes an anchor."""
    state = Failing()

    @contracts.register("test.stall")
    def handler(ctx, tx):
        if state.error is not None:
            raise type(state.error)(*state.error.args)
        ctx.save(Anchor(uid=ctx.derive_uuid("anchor"), kind="test", root="ab" * 32, count=1, institution=ctx.signer_id,
                        height=ctx.block_height, tx_id=tx.id))

    yield state
    contracts._contracts.pop("test.stall", None)


@pytest.fixture
def alerts():
    seen = []

    def receiver(sender, alert, **kwargs):
        seen.append(alert)

    node_alert.connect(receiver, weak=False)
    yield seen
    node_alert.disconnect(receiver)


@pytest.fixture
def clean_status(ledger_node):
    from ledger.runtime import wake

    wake.client().delete(stall_module._key())
    yield
    wake.client().delete(stall_module._key())


@pytest.fixture
def driver(ledger_node, clean_status, settings, monkeypatch):
    # The tests' definition checkpoints every 16 blocks; a replica's window must hold two of them.
    monkeypatch.setitem(ledger_node.definition.timeouts, "window", 32)
    settings.LEDGER_APPLY_RETRY_MAX_S = 4
    settings.LEDGER_APPLY_ALERT_AFTER_S = 60
    d = Driver(send=lambda peer, wires: None)
    d.epoch = lease.acquire(d.holder, 10)
    d.stall = Stall(clock=(clock := Clock()))
    d.clock = clock
    d.replica = Replica()
    return d


def stall_tx(ledger_node) -> Transaction:
    return Transaction.create(chain_id="pilechain-test", type="test.stall", payload={"n": next(_nonce)},
                              signer="node:OP-A", key=ledger_node.keys["OP-A"], nonce=f"s{next(_nonce)}")


def ledger_health(monkeypatch) -> tuple[int, dict]:
    """/healthz as a node answers it, its worker taken as up (none runs in this test)."""
    from django.test import Client

    monkeypatch.setitem(health.CHECKS, "celery", lambda: {"ok": True, "workers": ["test@host"]})
    response = Client().get("/healthz")
    return response.status_code, json.loads(response.content)["checks"]["ledger"]


def test_the_backoff_doubles_up_to_its_limit():
    assert [backoff_s(n, 4) for n in range(1, 8)] == [0.25, 0.5, 1, 2, 4, 4, 4]
    assert backoff_s(10_000, 30) == 30


def test_a_block_that_cannot_be_applied_is_retried_with_backoff_and_the_status_says_so(
        driver, failing, ledger_node, alerts, monkeypatch):
    tx = stall_tx(ledger_node)
    commit(tx)
    before = node_state().state_root

    driver._apply_stored()
    status = selectors.node_status()["apply"]
    assert status["state"] == "retrying" and status["stage"] == "apply"
    assert (status["height"], status["tx_id"], status["kind"], status["error"]) == (1, tx.id, "operational",
                                                                                  "OperationalError")
    assert status["attempts"] == 1 and not status["alerted"] and status["since"]
    assert "server closed the connection" in status["detail"]
    code, ledger = ledger_health(monkeypatch)
    assert code == 200 and ledger["ok"] and ledger["state"] == "retrying" and ledger["attempts"] == 1
    assert (node_state().applied_height, node_state().state_root) == (0, before)
    assert not CommittedTx.objects.exists()

    driver._apply_stored()  # before its backoff is over: not tried again
    assert selectors.node_status()["apply"]["attempts"] == 1
    for attempt, wait in ((2, 0.25), (3, 0.5), (4, 1)):
        driver.clock.now += wait
        driver._apply_stored()
        assert selectors.node_status()["apply"]["attempts"] == attempt
    assert not alerts  # within PILECHAIN_APPLY_ALERT_AFTER_S: no alert yet

    failing.error = None
    driver.clock.now += 2
    driver._apply_stored()
    assert selectors.node_status()["apply"] == {"state": "ok"}
    assert driver.replica.applied_blocks == [(1, node_state().state_root)]
    assert CommittedTx.objects.get(tx_id=tx.id).status == "applied"
    code, ledger = ledger_health(monkeypatch)
    assert code == 200 and ledger["state"] == "ok"
    assert not alerts


def test_a_stall_that_lasts_raises_the_alert_and_healthz_goes_down_until_it_is_applied(
        driver, failing, ledger_node, alerts, settings, monkeypatch):
    settings.LEDGER_APPLY_ALERT_AFTER_S = 0  # as if the bound had passed at the first failure
    driver.stall = Stall(clock=driver.clock)
    tx = stall_tx(ledger_node)
    commit(tx)
    driver._apply_stored()
    [raised] = alerts
    assert (raised["code"], raised["phase"], raised["severity"], raised["height"], raised["tx_id"]) == (
        "apply_stalled", "raised", "critical", 1, tx.id)
    assert raised["node"] == "OP-A" and raised["kind"] == "operational"
    code, ledger = ledger_health(monkeypatch)
    assert code == 503 and not ledger["ok"] and ledger["alerted"]

    driver.clock.now += 1
    driver._apply_stored()
    assert len(alerts) == 1  # once per stall

    failing.error = None
    driver.clock.now += 1
    driver._apply_stored()
    assert [a["phase"] for a in alerts] == ["raised", "resolved"]
    code, ledger = ledger_health(monkeypatch)
    assert code == 200 and ledger["ok"]


def test_a_failure_that_waiting_will_not_mend_is_alerted_at_once(driver, failing, ledger_node, alerts):
    """A backend-dependent error (a contract wrote without checking) stops this node on the block
    until someone looks: never a rejection, and the alert goes out without waiting."""
    failing.error = IntegrityError("duplicate key value violates unique constraint")
    commit(stall_tx(ledger_node))
    driver._apply_stored()
    assert [(a["code"], a["kind"]) for a in alerts] == [("apply_stalled", "backend")]
    assert not CommittedTx.objects.exists()


def test_a_driver_that_takes_over_keeps_the_time_of_the_first_failure(driver, failing, ledger_node):
    commit(stall_tx(ledger_node))
    driver._apply_stored()
    first = selectors.node_status()["apply"]

    successor = Stall(clock=Clock())
    assert successor.stalled and successor.due()
    from ledger.failures import NodeFault

    record = successor.failed(NodeFault(OperationalError("still down"), kind="operational", height=1))
    assert record["since"] == first["since"] and record["attempts"] == 2


def test_a_turn_that_fails_on_the_database_is_dropped_and_the_replica_rebuilt(driver, ledger_node, monkeypatch):
    """Anywhere in a turn (not only while applying): the loop waits, rebuilds its replica from the
    database, and goes on, rather than dying with its lease held until the lease expires."""
    from ledger.runtime import driver as driver_module

    turns = iter([OperationalError("terminating connection due to administrator command")])
    restores = []
    real_restore = Driver._restore

    def turn(self):
        error = next(turns, None)
        if error is not None:
            raise error
        return False

    def restore(self):
        restores.append(self.stall.stalled)
        real_restore(self)

    monkeypatch.setattr(Driver, "turn", turn)
    monkeypatch.setattr(Driver, "_restore", restore)
    monkeypatch.setattr(driver_module.time, "sleep", lambda s: None)
    lease.release(driver.holder, driver.epoch)
    d = Driver(send=lambda peer, wires: None)
    d.run(max_seconds=1.0)
    # At the start, then after the failure (stalled until the rebuilt replica's first apply worked).
    assert restores == [False, True]
    assert selectors.node_status()["apply"] == {"state": "ok"}
