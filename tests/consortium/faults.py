"""Faults injected at one node on purpose, for the tests that run real node processes.

The nodes of tests/consortium load this module with PILECHAIN_TEST_HOOKS=tests.consortium.faults
(ledger.apps); nothing else does (importing it registers a contract and wraps the sending of
batches). Each node reads its orders from its faults folder, <PILECHAIN_VAR_DIR>/<node>/faults/
(tests/consortium/fault_files.py, which the tests import to give them).

A contract, `tests.fault`, records an anchor (a ledger-owned row, so the state root shows whether the
transaction was applied) after failing at the node its payload names (`victim`), the way that
node's database would fail it:

- mode "hold": every attempt fails with an OperationalError while the file `hold` exists in the
  node's faults folder: a database that keeps failing;
- mode "terminate": the first attempt, halfway through the block's database transaction, writes
  `<tx id>.waiting` and waits for `<tx id>.go`, which the test writes once it has terminated the
  node's PostgreSQL connections (pg_terminate_backend); the contract's write then meets the dead
  connection.

A lossy link for requests: while the file `drop-requests` exists in a node's faults folder, every
REQUEST message the node sends (the transactions a backup forwards) is dropped on its way out, as a
network would lose it, and counted: one line "<peer> <count>" per batch appended to
`dropped-requests`. Every other message goes through. It wraps ledger.runtime.peers.post_batch, the
one call by which the drain loop's sender threads and the retrying task `ledger.deliver` post a batch,
in whatever process (the Celery worker's pool) they run.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import OperationalError

from ledger.contracts import register
from ledger.models import Anchor
from ledger.pbft import messages
from ledger.runtime import peers, transport
from tests.consortium.fault_files import DROP_REQUESTS, DROPPED_REQUESTS, faults_dir

WAIT_FOR_THE_TEST_S = 30


@register("tests.fault")
def fault(ctx, tx):
    """Fail at the victim node, then record an anchor."""
    payload = tx.payload
    if payload.get("victim") == settings.NODE_CODE:
        here = faults_dir(settings.VAR_DIR, settings.NODE_CODE)
        if payload.get("mode") == "hold" and (here / "hold").exists():
            raise OperationalError("could not extend file: No space left on device (injected by tests.fault)")
        if payload.get("mode") == "terminate" and not (here / f"{tx.id}.done").exists():
            here.mkdir(parents=True, exist_ok=True)
            (here / f"{tx.id}.done").touch()  # once: the retry goes through
            Anchor.objects.filter(tx_id=tx.id).exists()  # the block's transaction is open on the connection
            (here / f"{tx.id}.waiting").touch()
            deadline = time.monotonic() + WAIT_FOR_THE_TEST_S
            while not (here / f"{tx.id}.go").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
    ctx.save(Anchor(
        uid=ctx.derive_uuid("fault"), kind="test-fault", root="ef" * 32, count=1,
        reference=str(payload.get("reference", ""))[:200], institution=ctx.signer_id, height=ctx.block_height,
        tx_id=tx.id,
    ))


def _is_request(wire: bytes) -> bool:
    try:
        return messages.decode(wire).kind == messages.REQUEST
    except messages.MessageError:
        return False


def _lossy(post_batch):
    def post_dropping_requests(peer: str, body: bytes, **kwargs) -> None:
        here = faults_dir(settings.VAR_DIR, settings.NODE_CODE)
        if not (here / DROP_REQUESTS).exists():
            return post_batch(peer, body, **kwargs)
        wires = transport.unpack(body)
        kept = [w for w in wires if not _is_request(w)]
        if len(kept) < len(wires):
            with open(here / DROPPED_REQUESTS, "a") as counts:  # small appends: one write each
                counts.write(f"{peer} {len(wires) - len(kept)}\n")
        if kept:
            post_batch(peer, transport.pack(kept), **kwargs)

    post_dropping_requests.wrapped = post_batch
    return post_dropping_requests


if not hasattr(peers.post_batch, "wrapped"):  # once, however often the module is imported
    peers.post_batch = _lossy(peers.post_batch)
