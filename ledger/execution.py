"""Applying a committed block: every contract of the block in one database transaction.

For each transaction, in block order: the signer's authority is checked (signer kind and, for a
node, its institution's role from the consortium definition), then the contract runs inside a
savepoint. A rejection rolls back that transaction's writes and keeps its reason; the block commits
anyway. Every write goes through the context, which feeds the write-set hash and the MuHash of the
ledger-owned rows; together with the previous root they make the new state root. Events leave only
after the database commit.

What an exception means is decided once, in ledger.failures, for a lone transaction and for a run
alike: a refusal or a bug in a contract is a rejection (a bug with the stable reason
`contract_error`, and an alert); a failure of this node (its database connection, a timeout, the
disk) or of its database engine aborts the whole block with `NodeFault`, leaving the database as it
was, and the driver applies the block again later. An operational error is never a verdict.

A null block (ledger.pbft.log.is_null_header: a NEW-VIEW's gap filler, no transactions, zero time and
zero state root) commits to no state: it is not compared with this node's root and leaves the state
and its root as they were (`_apply_null`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable

from django.db import connection, models, transaction
from django.utils import translation

from ledger.chain.block import ZERO_HASH, BlockHeader, CommitCertificate
from ledger.chain.encoding import canonical, sha256
from ledger.chain.tx import Transaction
from ledger import definition as in_force
from ledger.definition import node_state
from ledger import signers
from ledger.alerts import raise_alert
from ledger.contracts import DEVICE, NODE, ContractRejected, contracts
from ledger.failures import CONTRACT_ERROR, NODE_LOCAL, REFUSAL, NodeFault, as_fault, classify, describe
from ledger.models import Block, CommittedTx, NodeState, Submission, TxStatus
from ledger.pbft.log import is_null_header
from ledger.runs import Run, net_writes, validation_reason
from ledger.state.bulk import bulk_insert
from ledger.state.muhash import MuHash
from ledger.state.rows import check_storable, entry_bytes, is_owned, kept_key, owned_models, replay_keys

logger = logging.getLogger("pilechain.ledger")

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
ALREADY_COMMITTED = "transaction already committed"
ID_NAMESPACE = uuid.UUID("6f1c2b1e-3b8e-5a52-9c3e-7d1f0a7e9b10")


# Context managers entered around the contracts of every block (and left before the executor's own
# bookkeeping): the test suite installs one that refuses every node-local input (tests/utils/determinism.py).
CONTRACT_GUARDS: list[Callable[[], contextlib.AbstractContextManager]] = []


def _contract_guards() -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    for guard in CONTRACT_GUARDS:
        stack.enter_context(guard())
    return stack


class Diverged(Exception):
    """This node's state no longer matches what the consortium signed; it stops applying."""


@dataclass
class ContractContext:
    tx: Transaction
    header: BlockHeader
    index: int
    signer_role: str | None
    writes: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    # Set while the transaction is applied in a run (ledger.runs): its run, its rejection, its staged rows.
    run: object = None
    rejected: str | None = None
    staged: list | None = None
    # The outcome, once run; `trailing` holds writes of a whole run, folded in after this transaction's.
    status: str = ""
    reason: str = ""
    trailing: list | tuple = ()

    @property
    def block_height(self) -> int:
        return self.header.height

    @property
    def block_time(self) -> dt.datetime:
        # In integers: no float between the header's milliseconds and the time contracts compare.
        return EPOCH + dt.timedelta(milliseconds=self.header.timestamp_ms)

    @property
    def signer_kind(self) -> str:
        return self.tx.signer_kind

    @property
    def signer_id(self) -> str:
        return self.tx.signer_id

    def derive_uuid(self, *parts: str) -> uuid.UUID:
        """An id every node derives alike: from the transaction's hash and the given parts."""
        return uuid.uuid5(ID_NAMESPACE, "/".join([self.tx.id, *parts]))

    def reject(self, reason: str):
        raise ContractRejected(reason)

    def save(self, instance: models.Model) -> None:
        check_storable(instance)
        old = self._current_entry(instance)
        if instance.pk is None and (kept := kept_key(instance)) is not None:
            instance.pk = kept
            instance.save(force_insert=True)
            self._record("save", None, entry_bytes(instance) if is_owned(type(instance)) else None)
            return
        instance.save()
        self._record("save", old, entry_bytes(instance) if is_owned(type(instance)) else None)

    def bulk_insert(self, instances: list[models.Model]) -> None:
        """Many new rows at once, model by model in the order given (parents before children): each is
        in the write set as if saved one by one. Their keys are set only where the database returns
        them (SQLite before 3.35 does not): a contract that needs them reads them back by natural key."""
        by_model: dict[type, list[models.Model]] = {}
        for instance in instances:
            check_storable(instance)
            if instance.pk is None:
                instance.pk = kept_key(instance)
            by_model.setdefault(type(instance), []).append(instance)
        for model, rows in by_model.items():
            bulk_insert(model, rows, connection=connection)
        for instance in instances:
            self._record("save", None, entry_bytes(instance) if is_owned(type(instance)) else None)

    def stage_insert(self, instance: models.Model) -> bytes | None:
        """In a run: a new row of this transaction, written when the run flushes. Returns its entry."""
        return self.run.stage_insert(instance, owner=self)

    def stage_update(self, instance: models.Model, *, old: bytes | None, fields) -> bytes | None:
        """In a run: a changed row of this transaction (`old`: its entry before the change)."""
        return self.run.stage_update(instance, old=old, fields=fields, owner=self)

    def delete(self, instance: models.Model) -> None:
        old = self._current_entry(instance)
        instance.delete()
        self._record("delete", old, None)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run after the block's database transaction commits (events, websockets, webhooks)."""
        self.after_commit.append(callback)

    def _current_entry(self, instance) -> bytes | None:
        if instance.pk is None or not is_owned(type(instance)):
            return None
        stored = type(instance)._base_manager.filter(pk=instance.pk).first()
        return entry_bytes(stored) if stored is not None else None

    def _record(self, op: str, old: bytes | None, new: bytes | None) -> None:
        if old is not None or new is not None:
            self.writes.append((op, old, new))


@dataclass
class AppliedBlock:
    height: int
    state_root: str
    applied: int
    rejected: int


def next_state_root(prev_root: str, height: int, writes_digest: str, rows_digest: str) -> str:
    return sha256(canonical({"prev": prev_root, "height": height, "writes": writes_digest, "rows": rows_digest})).hex()


def store_block(*, header: BlockHeader, transactions, certificate: CommitCertificate) -> Block:
    """Keep a block the replica committed (inside the runtime's persist transaction); idempotent."""
    block, created = Block.objects.get_or_create(
        height=header.height,
        defaults=dict(
            hash=header.hash(),
            prev_hash=header.prev_hash,
            header=header.to_dict(),
            certificate=certificate.to_dict(),
            txs=[tx.to_dict() for tx in transactions],
            tx_count=header.tx_count,
            proposer=header.proposer,
            view=header.view,
            timestamp_ms=header.timestamp_ms,
        ),
    )
    if not created and block.hash != header.hash():
        raise Diverged(f"two different blocks committed at height {header.height}")
    return block


def apply_next_blocks(*, role_of: Callable[[str], str | None], limit: int = 100) -> list[AppliedBlock]:
    """Apply stored blocks in height order, from the first one not applied yet."""
    done = []
    state = node_state()
    for block in Block.objects.filter(applied=False, height__gt=state.applied_height).order_by("height")[:limit]:
        done.append(apply_block(block=block, role_of=role_of))
    return done


def apply_block(*, block: Block, role_of: Callable[[str], str | None]) -> AppliedBlock:
    """Apply one stored block on top of this node's state."""
    try:
        return _apply(block=block, role_of=role_of)
    except Diverged as exc:
        # Recorded after the block's transaction rolled back, so the mark survives it.
        logger.error("node diverged: %s", exc)
        NodeState.objects.filter(diverged=False).update(diverged=True, diverged_reason=str(exc))
        raise
    except NodeFault as fault:
        raise fault.at(height=block.height)
    except Exception as exc:
        # Outside the contracts (the executor's own reads and writes): this node cannot apply the
        # block now; its transaction rolled back, nothing changed.
        raise as_fault(exc, height=block.height) from exc


def _apply(*, block: Block, role_of) -> AppliedBlock:
    header = BlockHeader.from_dict(block.header)
    transactions = [Transaction.from_dict(t) for t in block.txs]
    callbacks: list[Callable[[], None]] = []
    # Rejection reasons are committed data: the same words on every node, whatever the request's language.
    with translation.override("en"), signers.lookup_scope(), transaction.atomic():
        state = NodeState.objects.select_for_update().filter(pk=node_state().pk).get()
        if state.diverged:
            raise Diverged(state.diverged_reason)
        definition = in_force.parse(state.definition) if state.definition else None
        if definition is not None:
            in_force.mirror_members(definition)
        if header.height <= state.applied_height:
            return AppliedBlock(header.height, Block.objects.get(height=header.height).state_root_after, 0, 0)
        if header.height != state.applied_height + 1:
            raise ValueError(f"block {header.height} arrived before block {state.applied_height + 1}")
        if is_null_header(header):
            return _apply_null(block, header, state)
        if header.state_root != state.state_root:
            raise Diverged(
                f"block {header.height} commits to state {header.state_root[:16]}, this node has {state.state_root[:16]}"
            )

        rows = MuHash.from_hex(state.rows_muhash)
        writes = hashlib.sha256()
        committed = []
        # Committed in an earlier block, or earlier in this one: never applied a second time.
        seen: set[str] = set(CommittedTx.objects.filter(tx_id__in=[tx.id for tx in transactions])
                             .values_list("tx_id", flat=True))
        # Who may sign what follows the definition in force too (the caller's `role_of` reads the file).
        roles = definition.role_of if definition is not None else role_of
        with in_force.in_force(definition), _contract_guards():
            contexts = run_contracts(
                [ContractContext(tx=tx, header=header, index=index, signer_role=_signer_role(tx, roles))
                 for index, tx in enumerate(transactions)],
                committed=seen,
            )
        applied = rejected = 0
        recorded: set[str] = set()
        for ctx in contexts:
            tx = ctx.tx
            if ctx.status == TxStatus.APPLIED:
                applied += 1
                fold_writes(ctx.writes, rows, writes)
                callbacks.extend(ctx.after_commit)
            else:
                rejected += 1
            fold_writes(ctx.trailing, rows, writes)
            if tx.id in recorded or tx.id in seen:
                # The replica never orders a transaction twice; should a block still repeat one, the
                # first commit stands and this copy is only counted as rejected.
                logger.warning("block %s repeats transaction %s", header.height, tx.id)
                continue
            recorded.add(tx.id)
            committed.append(
                CommittedTx(
                    tx_id=tx.id, block=block, index=ctx.index, type=tx.type, signer=tx.signer,
                    body=tx.to_dict(), status=ctx.status, reason=ctx.reason,
                )
            )
        CommittedTx.objects.bulk_create(committed)
        _settle_submissions(committed, header.height)

        state_root = next_state_root(state.state_root, header.height, writes.hexdigest(), rows.digest())
        Block.objects.filter(pk=block.pk).update(applied=True, state_root_after=state_root)
        state.applied_height = header.height
        state.state_root = state_root
        state.rows_muhash = rows.to_hex()
        state.save(update_fields=["applied_height", "state_root", "rows_muhash"])
        for callback in callbacks:
            transaction.on_commit(callback)
    return AppliedBlock(header.height, state_root, applied, rejected)


def _apply_null(block: Block, header: BlockHeader, state: NodeState) -> AppliedBlock:
    """A null block (a NEW-VIEW's gap filler, ledger.pbft.log.null_header) commits to no time and no
    state: its header's state_root is zero because its proposer could not know the state, so there is
    nothing to compare, and it leaves the state and its root as they were. The next block's header
    carries that same root. Called inside _apply's transaction, with the state row locked."""
    if block.txs:
        raise Diverged(f"null block {header.height} holds transactions")
    Block.objects.filter(pk=block.pk).update(applied=True, state_root_after=state.state_root)
    state.applied_height = header.height
    state.save(update_fields=["applied_height"])
    return AppliedBlock(header.height, state.state_root, 0, 0)


def _signer_role(tx: Transaction, role_of) -> str | None:
    return role_of(tx.signer_id) if tx.signer_kind == NODE else None


def _check_signer(ctx: ContractContext):
    """The contract for the type, once the signer may use it: its kind, its institution's role, and
    for a device a key that is valid now (a key revoked by an earlier transaction signs nothing more)."""
    tx = ctx.tx
    contract = contracts.get(tx.type)
    if contract is None:
        raise ContractRejected(f"no contract for type {tx.type}")
    if tx.signer_kind not in contract.signer_kinds:
        raise ContractRejected(f"{tx.type} may not be signed by a {tx.signer_kind}")
    if tx.signer_kind == NODE:
        if ctx.signer_role is None:
            raise ContractRejected(f"{tx.signer_id} is not a member of the consortium")
        if contract.roles is not None and ctx.signer_role not in contract.roles:
            raise ContractRejected(f"a {ctx.signer_role} institution may not do {tx.type}")
    elif tx.signer_kind == DEVICE:
        problem = signers.signer_problem(tx, lambda _code: None)
        if problem:
            raise ContractRejected(f"device signature not valid at this block: {problem}")
    return contract


def write_record(op: str, old: bytes | None, new: bytes | None) -> bytes:
    """One write as the write-set hash takes it: the operation, then each entry with its length."""
    old, new = old or b"", new or b""
    return b"".join((op.encode(), b"\0", len(old).to_bytes(4, "big"), old, len(new).to_bytes(4, "big"), new))


def fold_writes(records, rows: MuHash, writes) -> None:
    for op, old, new in records:
        if old is not None:
            rows.remove(old)
        if new is not None:
            rows.add(new)
        writes.update(write_record(op, old, new))


def run_contracts(contexts: list[ContractContext], *, committed: set[str]) -> list[ContractContext]:
    """Run the contract of every transaction, in block order, and set each context's status and
    reason. Consecutive transactions that one run handler takes (ledger.runs) are applied together.
    `committed`: ids committed before this block (never applied again; nor is a repeat in the block).

    A transaction's signer is checked when its turn comes, after everything before it was applied
    (a key revoked earlier in the block signs nothing more); within a run, all members are checked
    before the run, since run handlers never change who may sign."""
    seen = set(committed)
    repeated = []
    for ctx in contexts:
        repeated.append(ctx.tx.id in seen)
        seen.add(ctx.tx.id)
    i = 0
    while i < len(contexts):
        contract = contracts.get(contexts[i].tx.type)
        if contract is None or contract.run_handler is None:
            _run_single(contexts[i], already_committed=repeated[i])
            i += 1
            continue
        j = i + 1
        while j < len(contexts) and getattr(contracts.get(contexts[j].tx.type), "run_handler", None) is contract.run_handler:
            j += 1
        members = []
        for k in range(i, j):
            if _admit(contexts[k], already_committed=repeated[k]) is not None:
                members.append(contexts[k])
        if members:
            _run_batch(contract.run_handler, members)
        i = j
    return contexts


def _admit(ctx: ContractContext, *, already_committed: bool):
    """The contract once the signer may use it, else None with the context rejected."""
    try:
        contract = _check_signer(ctx)
        if already_committed:
            raise ContractRejected(ALREADY_COMMITTED)
        return contract
    except ContractRejected as exc:
        ctx.status, ctx.reason = TxStatus.REJECTED, exc.reason
        return None


def _run_single(ctx: ContractContext, *, already_committed: bool) -> None:
    contract = _admit(ctx, already_committed=already_committed)
    if contract is not None:
        ctx.status, ctx.reason = _run_contract(ctx, contract)


def _run_contract(ctx: ContractContext, contract) -> tuple[str, str]:
    tx = ctx.tx
    try:
        with transaction.atomic():  # a savepoint: a rejection undoes this transaction's writes only
            contract.handler(ctx, tx)
        return TxStatus.APPLIED, ""
    except Exception as exc:
        kind = classify(exc)
        if kind in NODE_LOCAL:
            _abort(exc, kind, tx_id=tx.id)
        ctx.writes.clear()
        ctx.after_commit.clear()
        ctx.trailing = ()
        if kind == REFUSAL:
            return TxStatus.REJECTED, exc.reason if isinstance(exc, ContractRejected) else validation_reason(exc)
        _contract_failed(ctx, exc)
        return TxStatus.REJECTED, CONTRACT_ERROR


def _abort(exc: Exception, kind: str, *, tx_id: str):
    """Stop applying the block on this node: the block's transaction rolls back as this propagates."""
    if isinstance(exc, NodeFault):
        raise exc.at(tx_id=tx_id)
    raise NodeFault(exc, kind=kind, tx_id=tx_id) from exc


def _contract_failed(ctx: ContractContext, exc: Exception) -> None:
    """A contract raised what it should not have: every node meets the same bug in the same
    transaction, so it is a rejection everywhere (one crafted transaction must not halt the
    consortium), with a stable reason; what happened goes to the log and, once the block is
    committed, an alert."""
    tx = ctx.tx
    logger.error("contract %s raised on tx %s: %s", tx.type, tx.id, describe(exc), exc_info=exc)
    if replay_keys.get() is not None:
        return  # a replay meets the bugs of blocks long committed again: alerted the first time
    alert = {"tx_id": tx.id, "type": tx.type, "height": ctx.block_height, "error": describe(exc)}
    transaction.on_commit(lambda: raise_alert(CONTRACT_ERROR, severity="major", message=alert["error"], **alert))


def _run_batch(run_handler, members: list[ContractContext]) -> None:
    try:
        with transaction.atomic():
            run = Run(members)
            run_handler(run)
            run.flush()
    except Exception as exc:
        kind = classify(exc)
        if kind in NODE_LOCAL:
            _abort(exc, kind, tx_id=members[0].tx.id)
        # A bug every node meets alike (or a rejection outside `run.item`): every node falls back
        # alike, one transaction at a time, and only the transaction that fails is rejected.
        logger.exception("run of %s transactions failed from tx %s; applying them one by one",
                         len(members), members[0].tx.id)
        trailing = []
        for ctx in members:
            ctx.writes.clear()
            ctx.after_commit.clear()
            ctx.run, ctx.rejected, ctx.staged, ctx.trailing = None, None, None, []
            ctx.status, ctx.reason = _run_contract(ctx, contracts.get(ctx.tx.type))
            trailing.extend(ctx.trailing)
            ctx.trailing = ()
        # The same write set as the run at once: the run's rows once each, after all its transactions.
        members[-1].trailing = net_writes(trailing)
        return
    for ctx in members:
        ctx.run = None
        ctx.status, ctx.reason = (TxStatus.REJECTED, ctx.rejected) if ctx.rejected is not None else (TxStatus.APPLIED, "")
    members[-1].trailing = net_writes(run.writes)


class _DryRun(Exception):
    pass


def dry_run(*, tx: Transaction, role_of: Callable[[str], str | None]) -> None:
    """Run a transaction's contract against the current state and undo everything: what a service
    does before submitting, so that a user hears of a mistake at once rather than from a rejected
    block. Raises ContractRejected or the contract's field-keyed ValidationError. The committed
    outcome may still differ: another transaction may commit first."""
    state = node_state()
    header = BlockHeader(
        chain_id=tx.chain_id, height=state.applied_height + 1, prev_hash=ZERO_HASH,
        timestamp_ms=int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000), tx_root=ZERO_HASH, tx_count=1,
        state_root=state.state_root, view=0, proposer="dry-run",
    )
    ctx = ContractContext(tx=tx, header=header, index=0, signer_role=_signer_role(tx, role_of))
    contract = contracts.get(tx.type)
    if contract is None:
        raise ContractRejected(f"no contract for type {tx.type}")
    try:
        with transaction.atomic(), in_force.in_force(in_force.parse(state.definition) if state.definition else None), \
                _contract_guards():
            # The contract's own checks first: they name the field that is wrong.
            contract.handler(ctx, tx)
            raise _DryRun()
    except _DryRun:
        pass
    _check_signer(ctx)


def _settle_submissions(committed: list[CommittedTx], height: int) -> None:
    """This node's submissions that the block committed: one UPDATE per outcome, not per row (the
    index within the block is in CommittedTx)."""
    outcomes: dict[tuple[str, str], list[str]] = {}
    for c in committed:
        outcomes.setdefault((c.status, c.reason), []).append(c.tx_id)
    for (status, reason), tx_ids in outcomes.items():
        for start in range(0, len(tx_ids), 900):
            Submission.objects.filter(tx_id__in=tx_ids[start:start + 900]).update(
                status=status, reason=reason, height=height)


def replay_all(*, role_of: Callable[[str], str | None]) -> int:
    """Rebuild the read model from the stored chain: clear every ledger-owned table and this node's
    state, then apply every stored block again, all in one database transaction. Returns the number
    of blocks applied.

    A row comes back with the primary key it had, so the node's own tables that point at it
    (telemetry, credentials, drafts) still do; the database checks those references when the
    transaction commits, so a row the chain does not recreate makes the whole replay fail and
    change nothing."""
    with transaction.atomic():
        keep: dict[tuple[str, str], object] = {}
        for model in owned_models():
            for row in model._base_manager.all().iterator(chunk_size=2000):
                keep[(model._meta.label_lower, str(row.public_id))] = row.pk
        for model in reversed(owned_models()):
            # No collector: references from node-local rows are checked at commit, by then restored.
            model._base_manager.all()._raw_delete(model._base_manager.db)
        CommittedTx.objects.all().delete()
        definition = node_state().definition  # the chain's, kept: a replay is under the same genesis
        NodeState.objects.all().delete()
        Block.objects.update(applied=False, state_root_after="")
        node_state(definition=definition)
        token = replay_keys.set(keep)
        try:
            total = 0
            while done := apply_next_blocks(role_of=role_of, limit=200):
                total += len(done)
        finally:
            replay_keys.reset(token)
    return total
