"""Writes into the ledger: accept transactions for consensus. Every write of the platform ends here.

`tx_submit` takes transactions signed elsewhere (devices, third parties holding device keys);
`node_submit` signs one with this node's key on behalf of an authenticated user of its institution.
Both are idempotent: resubmitting a transaction returns what is known of it, never a second copy.
Resubmitting one that is still pending here also has the drain loop offer it to the replica again
(which forwards it to the primary again): a client that sees no progress can push, and nothing waits
on a message that was lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ledger import execution, signers
from ledger.chain.tx import Transaction, TxFormatError
from ledger.models import CommittedTx, Submission, TxStatus
from ledger.runtime import node, wake

MAX_BATCH = 5000


@dataclass(frozen=True)
class SubmitResult:
    tx_id: str | None
    status: str  # pending | applied | rejected | invalid
    error: str = ""
    height: int | None = None


class SubmitError(ValueError):
    pass


def tx_submit(*, transactions: list, submitted_by=None) -> list[SubmitResult]:
    """Validate and queue signed transactions; one result per input, in order. A transaction that
    appears twice in the batch is queued once and both places report the same status."""
    if not isinstance(transactions, list) or not transactions:
        raise SubmitError("send a transaction object or a non-empty list of them")
    if len(transactions) > MAX_BATCH:
        raise SubmitError(f"at most {MAX_BATCH} transactions per batch")
    definition = node.consortium()
    validators = definition.validators()
    invalid: dict[int, SubmitResult] = {}
    valid: dict[int, Transaction] = {}
    with signers.lookup_scope():
        _check_all(transactions, definition, validators, invalid, valid)
    unique = {tx.id: tx for tx in valid.values()}
    status = _known(list(unique))
    rows = [Submission(tx_id=tx_id, body=tx.to_dict(), type=tx.type, submitted_by=submitted_by)
            for tx_id, tx in unique.items() if tx_id not in status]
    again = [tx_id for tx_id, known in status.items() if known.status == TxStatus.PENDING]
    if rows or again:
        with transaction.atomic():
            Submission.objects.bulk_create(rows, ignore_conflicts=True)
            _offer_again(again)
        transaction.on_commit(wake.ring)
        status.update({row.tx_id: SubmitResult(row.tx_id, TxStatus.PENDING) for row in rows})
    return [invalid[i] if i in invalid else status[valid[i].id] for i in range(len(transactions))]


def _check_all(transactions, definition, validators, invalid: dict, valid: dict) -> None:
    for i, raw in enumerate(transactions):
        try:
            tx = Transaction.from_dict(raw)
        except (TxFormatError, TypeError) as exc:
            invalid[i] = SubmitResult(None, "invalid", f"malformed transaction: {exc}")
            continue
        if tx.chain_id != definition.chain_id:
            invalid[i] = SubmitResult(tx.id, "invalid", f"wrong chain: this consortium is {definition.chain_id}")
            continue
        problem = signers.signer_problem(tx, validators.key)
        if problem:
            invalid[i] = SubmitResult(tx.id, "invalid", problem)
            continue
        valid[i] = tx


def node_submit(
    *, type: str, payload: dict, submitted_by=None, institution: str | None = None, check: bool = True
) -> Submission:
    """Sign a transaction for an institution (this node's own unless another is given and hosted
    here; `node.NotHosted` otherwise) and queue it. With `check`, the contract first runs against the
    current state and its refusal (ContractRejected, or the contract's ValidationError) is raised
    here instead of being committed as a rejection."""
    code = institution or node.me().code
    tx = Transaction.create(
        chain_id=node.consortium().chain_id, type=type, payload=payload,
        signer=f"node:{code}", key=node.signing_key_for(code), nonce=uuid.uuid4().hex,
    )
    if check:
        execution.dry_run(tx=tx, role_of=node.role_of)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(tx_id=tx.id, body=tx.to_dict(), type=type, submitted_by=submitted_by)
    except IntegrityError:  # a nonce collision is impossible in practice; be exact anyway
        submission = Submission.objects.get(tx_id=tx.id)
    transaction.on_commit(wake.ring)
    return submission


def _offer_again(tx_ids: list[str]) -> None:
    """Pending submissions submitted again: the drain loop offers them to its replica at its next
    turn (ledger.runtime.driver, the rule of `Submission.proposed`)."""
    if tx_ids:
        Submission.objects.filter(tx_id__in=tx_ids, status=TxStatus.PENDING).update(proposed=False)


def _known(tx_ids: list[str]) -> dict[str, SubmitResult]:
    known = {}
    for c in CommittedTx.objects.filter(tx_id__in=tx_ids).select_related("block"):
        known[c.tx_id] = SubmitResult(c.tx_id, c.status, c.reason, c.block.height)
    for s in Submission.objects.filter(tx_id__in=tx_ids).exclude(tx_id__in=list(known)):
        known[s.tx_id] = SubmitResult(s.tx_id, s.status, s.reason, s.height)
    return known
