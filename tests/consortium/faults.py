"""A contract that fails on purpose at one node, for the tests that run real node processes.

The nodes of tests/consortium load this module with PILECHAIN_TEST_HOOKS=tests.consortium.faults
(ledger.apps); nothing else does. `tests.fault` records an anchor (a ledger-owned row, so the state
root shows whether the transaction was applied) after failing at the node its payload names
(`victim`), the way that node's database would fail it:

- mode "hold": every attempt fails with an OperationalError while the file `hold` exists in the
  node's faults folder (<PILECHAIN_VAR_DIR>/<node>/faults/): a database that keeps failing;
- mode "terminate": the first attempt, halfway through the block's database transaction, writes
  `<tx id>.waiting` and waits for `<tx id>.go`, which the test writes once it has terminated the
  node's PostgreSQL connections (pg_terminate_backend); the contract's write then meets the dead
  connection.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.db import OperationalError

from ledger.contracts import register
from ledger.models import Anchor

WAIT_FOR_THE_TEST_S = 30


def faults_dir(var_dir: Path, node: str) -> Path:
    return Path(var_dir) / node / "faults"


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
