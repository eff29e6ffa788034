"""No submission is lost between the API and the chain: a driver that (re)builds its replica offers it
every pending submission again, in bounded batches; a pending transaction submitted again is offered
again; refusals stay refusals with their reason. A real Driver and Replica on the test database,
with a `send` that records what would go to each peer."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from django.utils import timezone

from ledger import services
from ledger.chain.tx import Transaction
from ledger.models import DriverLease, Submission, TxStatus
from ledger.pbft import messages
from ledger.runtime import driver as driver_module
from ledger.runtime import node, wake
from ledger.runtime import stall as stall_module
from ledger.runtime.driver import Driver
from tests.conftest import INSTITUTIONS
from tests.utils.ledger import CHAIN_ID, commit_pending, configure_node

pytestmark = pytest.mark.django_db

ME = "OP-B"  # a backup in view 0 (the primary is the first member, OP-A): it forwards what it is given
_nonce = itertools.count()


@pytest.fixture
def backup_node(db, settings, monkeypatch, tmp_path):
    keys = configure_node(settings=settings, monkeypatch=monkeypatch, directory=tmp_path, members=INSTITUTIONS, me=ME)
    settings.NODE_CODE = ME
    node.reset_caches()
    # The tests' definition checkpoints every 16 blocks; a replica's window must hold two of them.
    monkeypatch.setitem(node.consortium().timeouts, "window", 32)
    wake.client().delete(stall_module._key())
    yield SimpleNamespace(keys=keys)
    wake.client().delete(stall_module._key())
    node.reset_caches()


class Wire:
    """The `send` of a driver: every message it hands out, per peer."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, peer: str, wires: list[bytes]) -> None:
        self.sent += [(peer, w) for w in wires]

    def requested(self) -> dict[str, set[str]]:
        """tx id -> the peers a REQUEST carrying it went to."""
        out: dict[str, set[str]] = {}
        for peer, wire in self.sent:
            env = messages.decode(wire)
            if env.kind == messages.REQUEST:
                for tx in env.body["txs"]:
                    out.setdefault(Transaction.from_dict(tx).id, set()).add(peer)
        return out

    def clear(self) -> None:
        self.sent.clear()


def started(wire: Wire) -> Driver:
    d = Driver(send=wire)
    assert d.start()
    return d


def crashed(d: Driver) -> None:
    """The driver's process died: its replica is gone and its lease runs out."""
    DriverLease.objects.filter(holder=d.holder).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    d.replica = None


def signed(backup_node, n: int, signer: str = ME) -> list[dict]:
    return [Transaction.create(chain_id=CHAIN_ID, type="ledger.noop", payload={"n": next(_nonce)},
                               signer=f"node:{signer}", key=backup_node.keys[signer],
                               nonce=f"d{next(_nonce)}").to_dict() for _ in range(n)]


def submit(txs: list[dict]) -> list[str]:
    results = services.tx_submit(transactions=txs)
    assert {r.status for r in results} == {"pending"}, results
    return [r.tx_id for r in results]


PEERS = set(INSTITUTIONS) - {ME}


def test_a_restarted_driver_offers_every_pending_submission_to_its_new_replica(backup_node):
    ids = submit(signed(backup_node, 3))
    lost = Wire()  # the first driver's forwards never arrive anywhere
    first = started(lost)
    first.turn()
    assert set(lost.requested()) == set(ids)
    assert set(first.replica.pending) == set(ids)
    assert Submission.objects.filter(tx_id__in=ids, proposed=True).count() == 3
    crashed(first)

    wire = Wire()
    second = started(wire)
    assert not second.replica.pending  # pending requests lived in the dead replica's memory only
    second.turn()
    assert set(second.replica.pending) == set(ids)
    assert wire.requested() == {tx_id: PEERS for tx_id in ids}  # forwarded to every peer again
    assert Submission.objects.filter(tx_id__in=ids, proposed=True).count() == 3

    wire.clear()
    second.turn()
    assert wire.requested() == {}  # offered once per replica, not at every turn


def test_settled_submissions_are_not_offered_again(backup_node):
    applied, rejected, pending = submit(signed(backup_node, 3))
    # As applying their block leaves them (execution._settle_submissions); offered before.
    Submission.objects.filter(tx_id=applied).update(status=TxStatus.APPLIED, height=1, proposed=True)
    Submission.objects.filter(tx_id=rejected).update(status=TxStatus.REJECTED, height=1, reason="no", proposed=True)
    Submission.objects.filter(tx_id=pending).update(proposed=True)
    wire = Wire()
    d = started(wire)
    d.turn()
    assert set(wire.requested()) == {pending}
    assert Submission.objects.filter(proposed=False).count() == 0


def test_a_long_backlog_is_offered_over_several_turns_in_submission_order(backup_node, monkeypatch):
    monkeypatch.setattr(driver_module, "PROPOSE_BATCH", 2)
    ids = submit(signed(backup_node, 5))
    Submission.objects.update(proposed=True)  # offered to a replica that is gone
    order = list(Submission.objects.order_by("id").values_list("tx_id", flat=True))
    wire = Wire()
    d = started(wire)
    offered = []
    for _ in range(3):
        wire.clear()
        d.turn()
        batch = list(wire.requested())
        assert len(batch) <= 2
        offered += batch
    assert offered == order and set(offered) == set(ids)


def test_a_turn_offers_for_a_bounded_time_and_the_next_turns_go_on(backup_node, monkeypatch):
    monkeypatch.setattr(driver_module, "PROPOSE_BUDGET_S", 0.0)  # as if each offer used up the turn
    ids = submit(signed(backup_node, 3))
    wire = Wire()
    d = started(wire)
    offered = []
    for _ in range(3):
        wire.clear()
        assert d.turn()  # busy: the loop does not wait for the next tick
        offered += list(wire.requested())
    assert offered == ids  # one a turn, at least one, in submission order
    assert not Submission.objects.filter(proposed=False).exists()


def test_a_turn_that_failed_rebuilds_the_replica_and_offers_the_pending_submissions_again(backup_node):
    ids = submit(signed(backup_node, 2))
    wire = Wire()
    d = started(wire)
    d.turn()
    d._turn_failed(OperationalError("server closed the connection unexpectedly"))
    assert d._stale
    wire.clear()
    d._restore()  # what run() does once the backoff is over
    d.turn()
    assert set(wire.requested()) == set(ids)


def test_submitting_a_pending_transaction_again_offers_it_again(backup_node):
    txs = signed(backup_node, 2)
    ids = submit(txs)
    wire = Wire()
    d = started(wire)
    d.turn()
    wire.clear()
    d.turn()
    assert wire.requested() == {}

    again = services.tx_submit(transactions=[txs[0]])
    assert [(r.tx_id, r.status) for r in again] == [(ids[0], "pending")]
    assert Submission.objects.filter(tx_id__in=ids).count() == 2  # never a second copy
    d.turn()
    assert wire.requested() == {ids[0]: PEERS}


def test_submitting_a_committed_transaction_again_answers_its_outcome(backup_node):
    txs = signed(backup_node, 1)
    [tx_id] = submit(txs)
    block = commit_pending()
    [again] = services.tx_submit(transactions=txs)
    assert (again.tx_id, again.status, again.height) == (tx_id, "rejected", block.height)
    assert "no contract" in again.error
    assert not Submission.objects.filter(tx_id=tx_id, proposed=False, status=TxStatus.PENDING).exists()


def test_a_request_the_replica_refuses_stays_refused_with_its_reason(backup_node):
    [good] = signed(backup_node, 1)
    forged = {**signed(backup_node, 1)[0], "payload": {"n": "changed after signing"}}
    tx = Transaction.from_dict(forged)
    Submission.objects.create(tx_id=tx.id, body=forged, type=tx.type)  # as if the check at submit had passed
    [good_id] = submit([good])
    wire = Wire()
    d = started(wire)
    d.turn()
    refused = Submission.objects.get(tx_id=tx.id)
    assert (refused.status, refused.reason) == (TxStatus.REJECTED, "refused by the replica: bad signature")
    assert set(wire.requested()) == {good_id}

    crashed(d)
    d = started(wire := Wire())
    d.turn()
    assert Submission.objects.get(tx_id=tx.id).status == TxStatus.REJECTED  # not offered again
    assert set(wire.requested()) == {good_id}
    [again] = services.tx_submit(transactions=[forged])
    assert (again.status, again.error) == ("invalid", "bad signature")  # the API's own check
    assert Submission.objects.get(tx_id=tx.id).reason == "refused by the replica: bad signature"
