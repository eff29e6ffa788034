"""The drain loop: the one place where this node's PBFT replica is stepped.

One loop per node, under the lease. Each turn: step the inbox in arrival order, propose new
submissions, tick when a tick is due; then take ready() and
  1. persist it in one database transaction (replica records, committed blocks, inbox rows consumed,
     submissions handed over), after checking the lease: nothing is sent that is not on disk;
  2. send its messages (one thread per peer; a failed batch goes to a Celery task that retries it)
     and answer state requests from the block store;
  3. apply committed blocks (contracts, read model, state root) and report each to the replica;
and advance(). With nothing to do it waits on the doorbell until the next tick is due.

A submission is never lost between the API and the chain. The replica keeps its pending requests in
memory only, so whenever the driver (re)builds it (start(), and after a failed turn) it offers the
replica every submission still pending again, whatever an earlier replica did with them: the rule
of `Submission.proposed` is "False: offer it at the next turn" (new, re-offered after a rebuild, or
submitted again through the API), PROPOSE_BATCH a turn in id order. Offering a request the replica
already holds is harmless (it forwards it to the primary again).

A block this node cannot apply for a reason of its own (ledger.failures: its database connection,
a timeout, the disk) left the database unchanged; the loop goes on with consensus and tries the
block again after a backoff, saying so in its status (ledger.runtime.stall). A turn that fails
that way anywhere else (the database gone between two statements) is dropped: the loop forgets its
connection, waits, and rebuilds the replica from what is on disk, as a restart would.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from typing import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ledger import signers
from ledger.chain.block import BlockHeader, CommitCertificate
from ledger.chain.tx import Transaction, TxFormatError
from ledger.execution import Diverged, apply_next_blocks, node_state, store_block
from ledger.failures import OPERATIONAL, as_fault, classify
from ledger.models import Block, InboxMessage, NodeState, PeerDrop, ReplicaRecord, Submission, TxStatus
from ledger.pbft.config import ReplicaConfig
from ledger.pbft.log import CommittedBlock
from ledger.pbft.replica import Replica
from ledger.pbft.statetransfer import serve_state_request
from ledger.runtime import lease, wake
from ledger.runtime.stall import Stall
from ledger.runtime.node import announce_consortium, consortium, genesis_state_root, keys, me, role_of

logger = logging.getLogger("pilechain.ledger.driver")

INBOX_BATCH = 1000
PROPOSE_BATCH = 5000
# A turn offers submissions for this long at most (at least one): a backup signs a REQUEST for each,
# ~0.3 ms, so a backlog of thousands (re-offered after a rebuild) would hold up consensus for seconds.
PROPOSE_BUDGET_S = 0.2
STATUS_EVERY_S = 1.0
MAX_TICKS_PER_TURN = 20  # ticks a late turn may catch up (Driver._tick)
IDLE_WAIT_S = 0.5  # an idle replica's turns (Replica.idle); less than MAX_TICKS_PER_TURN ticks


def replica_config() -> ReplicaConfig:
    definition = consortium()
    validators = definition.validators()
    allowed = set(ReplicaConfig.__dataclass_fields__)
    tuning = {k: v for k, v in definition.timeouts.items() if k in allowed}

    def verify_request(tx: Transaction) -> bool:
        return signers.signer_problem(tx, validators.key) is None

    return ReplicaConfig(
        validators=validators,
        replica_id=me().code,
        signing_key=keys().signing,
        verify_request=verify_request,
        checkpoint_interval=definition.checkpoint_interval,
        genesis_state_root=genesis_state_root(definition),
        **tuning,
    )


def load_records() -> dict[str, bytes]:
    return {r.key: bytes(r.value) for r in ReplicaRecord.objects.all()}


def stored_block(height: int) -> CommittedBlock | None:
    block = Block.objects.filter(height=height).first()
    if block is None:
        return None
    return CommittedBlock(
        header=BlockHeader.from_dict(block.header),
        txs=tuple(Transaction.from_dict(t) for t in block.txs),
        certificate=CommitCertificate.from_dict(block.certificate),
    )


def reoffer_pending(holder: str, epoch: int, ttl_s: float) -> int:
    """Mark every pending submission to be offered to the replica again (a new replica holds none
    of them); the number marked. Under the lease, like every write of the driver."""
    with transaction.atomic():
        lease.check_and_renew(holder, epoch, ttl_s)
        return Submission.objects.filter(status=TxStatus.PENDING, proposed=True).update(proposed=False)


class Driver:
    """`send(peer, wires)` hands one peer its batch of signed messages; whoever builds the driver
    passes it (ledger.tasks: `peer_sender()`, which posts them and has a Celery task retry a failed
    batch; tests: a function of their own). When it has a `close()`, `run` calls it as it ends."""

    def __init__(self, *, holder: str | None = None, send: Callable[[str, list[bytes]], None]):
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.cfg = replica_config()
        self.tick_s = settings.LEDGER_TICK_MS / 1000
        self.ttl_s = settings.LEDGER_LEASE_TTL_S
        self.epoch: int | None = None
        self.replica: Replica | None = None
        self._send = send
        self._reported_drops: dict[str, int] = {}
        self._next_tick = 0.0
        self._next_status = 0.0
        self.stall = Stall()
        self._stale = False  # a turn failed: rebuild the replica from the database before the next

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> bool:
        """Take the lease and rebuild the replica from the database; False if another driver has it."""
        self.epoch = lease.acquire(self.holder, self.ttl_s)
        if self.epoch is None:
            return False
        state = node_state()
        if state.diverged:
            lease.release(self.holder, self.epoch)
            logger.error("not driving: this node has diverged (%s)", state.diverged_reason)
            return False
        announce_consortium()  # contracts resolve institutions by code
        self._restore()
        state = node_state()
        self._next_tick = time.monotonic()
        logger.info("driving the replica", extra={"holder": self.holder, "epoch": self.epoch,
                                                    "height": state.applied_height})
        return True

    def run(self, *, max_seconds: float, worker: str | None = None) -> None:
        """Drive until the time is up, the lease is lost, or `worker` (the Celery node running this
        loop) is shutting down; then let go of the lease so another worker can take over at once."""
        if self.replica is None and not self.start():
            return
        deadline = time.monotonic() + max_seconds
        next_stop_check = 0.0
        try:
            while time.monotonic() < deadline:
                if worker and time.monotonic() >= next_stop_check:
                    if wake.stop_requested(worker):
                        logger.info("driver stops: worker %s is shutting down", worker)
                        break
                    next_stop_check = time.monotonic() + 0.5
                if self._stale and not self.stall.due():
                    time.sleep(min(self.stall.wait_s(), 0.5))
                    continue
                try:
                    if self._stale:
                        self._restore()
                    busy = self.turn()
                except (lease.LeaseLost, Diverged):
                    raise
                except Exception as exc:
                    if classify(exc) != OPERATIONAL:
                        raise
                    self._turn_failed(exc)
                    continue
                if not busy:
                    # An idle replica has no timer running: wait for a message or a submission (they
                    # ring), or a while; the ticks meanwhile are caught up on the next turn.
                    until = time.monotonic() + IDLE_WAIT_S if self.replica.idle() else self._next_tick
                    wake.wait(max(0.0, until - time.monotonic()))
        except (lease.LeaseLost, Diverged) as exc:
            logger.warning("driver stops: %s", exc)
            return
        finally:
            close = getattr(self._send, "close", None)
            if close is not None:
                close()
        lease.release(self.holder, self.epoch)

    # ------------------------------------------------------------------ one turn

    def turn(self) -> bool:
        """One pass of the loop; True when it found work (so the caller does not wait)."""
        replica = self.replica
        inbox = list(InboxMessage.objects.order_by("id")[:INBOX_BATCH])
        with signers.lookup_scope():  # device keys looked up once per turn, before any block is applied
            for message in inbox:
                replica.step(bytes(message.data))
            proposed, refused = self._propose_new()
        now = time.monotonic()
        self._tick(now)
        ready = replica.ready()
        self._persist(ready, inbox, proposed, refused)
        self._deliver(ready)
        self._apply_stored()
        replica.advance()
        if now >= self._next_status:
            self._write_status()
            self._next_status = now + STATUS_EVERY_S
        return bool(inbox or proposed or refused or ready.committed or ready.messages)

    def _tick(self, now: float) -> int:
        """Give the replica the ticks due by `now` (monotonic): one per `tick_s`, also when a turn took
        longer than a tick, so that its timeouts (counted in ticks) keep their length in seconds on a
        loaded machine rather than stretching with the turns. After a pause longer than
        MAX_TICKS_PER_TURN ticks the rest are dropped (the timeouts grow by the pause, never shrink).
        Returns how many ticks it gave."""
        given = 0
        while now >= self._next_tick and given < MAX_TICKS_PER_TURN:
            self.replica.tick(int(time.time() * 1000))
            self._next_tick += self.tick_s
            given += 1
        if now >= self._next_tick:
            self._next_tick = now + self.tick_s
        return given

    def _restore(self) -> None:
        """The replica as the database has it; then the blocks committed but not applied yet. Its
        pending requests were in the old replica's memory only: every pending submission is offered
        to the new one again, over the next turns."""
        self.replica = Replica.restore(self.cfg, load_records())
        reoffer_pending(self.holder, self.epoch, self.ttl_s)
        self._apply_stored()
        state = node_state()
        self.replica.applied(state.applied_height, state.state_root)
        self._stale = False

    def _turn_failed(self, exc: Exception) -> None:
        """The database (or Redis) failed this node in the middle of a turn: what the replica did in
        memory since the last persist may be lost, so it is rebuilt from disk once the wait is over."""
        self._forget_connection()
        self._stale = True
        self.stall.failed(as_fault(exc), stage="loop")

    @staticmethod
    def _forget_connection() -> None:
        """After a node-local failure the connection may be broken, and Django reconnects only a
        closed one. (Inside a transaction, which a test may hold, it is the transaction's to end.)"""
        if not connection.in_atomic_block:
            connection.close()

    def _propose_new(self) -> tuple[list[int], list[tuple[int, str]]]:
        """Offer the replica the submissions waiting to be offered (new ones, and all pending ones
        after a rebuild or a resubmission), in id order, at most PROPOSE_BATCH and PROPOSE_BUDGET_S
        a turn so that a long backlog does not hold up the messages of consensus."""
        proposed, refused = [], []
        waiting = Submission.objects.filter(proposed=False, status=TxStatus.PENDING).order_by("id")
        deadline = time.monotonic() + PROPOSE_BUDGET_S
        for sub in waiting[:PROPOSE_BATCH].iterator(chunk_size=100):  # a turn may stop early
            if (proposed or refused) and time.monotonic() > deadline:
                break  # the rest keep their flag clear: offered at the next turns
            try:
                tx = Transaction.from_dict(sub.body)
            except (TxFormatError, TypeError) as exc:
                refused.append((sub.pk, f"malformed: {exc}"))
                continue
            if self.replica.propose(tx):  # True too for a request it holds already
                proposed.append(sub.pk)
            elif tx.id in self.replica.committed_txids:
                proposed.append(sub.pk)  # already on the chain; its block settles it
            elif (reason := self._refusal(tx)) is not None:
                refused.append((sub.pk, reason))
            else:
                # Refused, yet the checks pass now: no verdict on a passing doubt. It stays pending,
                # offered again by the next rebuild or resubmission.
                logger.warning("the replica refused %s, which passes its checks now", tx.id)
                proposed.append(sub.pk)
        return proposed, refused

    def _refusal(self, tx: Transaction) -> str | None:
        """Why the replica refused a request of this node, in the words of the check it runs (the
        chain, the signature and signer); None when the request passes them now."""
        if tx.chain_id != self.cfg.chain_id:
            return f"refused by the replica: wrong chain (this consortium is {self.cfg.chain_id})"
        problem = signers.signer_problem(tx, self.cfg.validators.key)
        return f"refused by the replica: {problem}" if problem else None

    def _persist(self, ready, inbox, proposed, refused) -> None:
        with transaction.atomic():
            lease.check_and_renew(self.holder, self.epoch, self.ttl_s)
            final: dict[str, bytes | None] = {}
            for key, value in ready.persist:  # in order: the last write of a key wins
                final[key] = value
            deletes = [k for k, v in final.items() if v is None]
            if deletes:
                ReplicaRecord.objects.filter(key__in=deletes).delete()
            upserts = [ReplicaRecord(key=k, value=v) for k, v in final.items() if v is not None]
            if upserts:
                ReplicaRecord.objects.bulk_create(
                    upserts, update_conflicts=True, unique_fields=["key"], update_fields=["value"]
                )
            for block in ready.committed:
                store_block(header=block.header, transactions=list(block.txs), certificate=block.certificate)
            if inbox:
                InboxMessage.objects.filter(id__lte=inbox[-1].id).delete()
            if proposed:
                Submission.objects.filter(pk__in=proposed).update(proposed=True)
            for pk, reason in refused:
                Submission.objects.filter(pk=pk).update(proposed=True, status=TxStatus.REJECTED, reason=reason)

    def _deliver(self, ready) -> None:
        by_peer: dict[str, list[bytes]] = defaultdict(list)
        for out in ready.messages:
            for peer in out.to:
                by_peer[peer].append(out.data)
        for request in ready.state_requests:
            answer = serve_state_request(
                request, stored_block, signing_key=self.cfg.signing_key, chain_id=self.cfg.chain_id,
                replica_id=self.cfg.replica_id, max_blocks=self.cfg.fetch_max_blocks,
            )
            if answer is not None:
                for peer in answer.to:
                    by_peer[peer].append(answer.data)
        for peer, wires in by_peer.items():
            self._send(peer, wires)

    def _apply_stored(self) -> None:
        if not self.stall.due():
            return  # the last attempt failed: consensus goes on, the block waits for its backoff
        while True:
            try:
                done = apply_next_blocks(role_of=role_of, limit=1)
            except Diverged:
                raise
            except Exception as exc:
                fault = as_fault(exc)
                if fault.kind == OPERATIONAL:
                    self._forget_connection()
                self.stall.failed(fault, stage="apply")
                return
            if self.stall.stalled:
                self.stall.recovered()  # the database answers again, and the block is applied
            if not done:
                return
            self.replica.applied(done[0].height, done[0].state_root)
            with transaction.atomic():  # a long run of blocks must not let the lease lapse
                lease.check_and_renew(self.holder, self.epoch, self.ttl_s)

    def _write_status(self) -> None:
        r = self.replica
        drops = dict(r.dropped)
        for reason, count in drops.items():
            delta = count - self._reported_drops.get(reason, 0)
            if delta > 0:
                row, _ = PeerDrop.objects.get_or_create(sender="*replica*", reason=reason)
                PeerDrop.objects.filter(pk=row.pk).update(count=F("count") + delta)
        self._reported_drops = drops
        NodeState.objects.filter(pk=node_state().pk).update(
            replica_status={
                "holder": self.holder,
                "epoch": self.epoch,
                "view": r.view,
                "view_active": r.active,
                "primary": r.vs.primary(r.view),
                "committed_height": r.committed_height,
                "stable_checkpoint": r.stable.height,
                "pending_requests": len(r.pending),
                "dropped": drops,
            },
            replica_status_at=timezone.now(),
        )
