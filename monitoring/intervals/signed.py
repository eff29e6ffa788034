"""A connector's register reading at the end of an interval, as its pile's meter signed it.

Piles that sign their meter values (OCPP 2.0.1 signed clock-aligned data, or OCPP 1.6 SignedData)
send an OCMF record whose one reading is the energy register at the interval's end. The report
carries that record; every node checks it against the meter keys registered for the pile:

    signature_failed         the record is not OCMF, or no registered meter key verifies it
    signed_reading_mismatch  it verifies, but its reading is not the register the report gives at the
                             interval's end (another time, another value, not an energy register)

`prove` (monitoring.intervals.proof) is pure. `Verifier` keeps each key it has read, and can `start` proving a run's records on
a thread of its own, which overlaps with the contract's reads and writes; a run of many records is
proved there by a helper process (monitoring.intervals.prover) on another core, or in this process if
the helper fails. The outcome is the same wherever a record is proved, and the contract reads the
proofs in block order.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from monitoring.intervals.proof import KeyCache, Proof, prove
from monitoring.intervals.prover import CHUNK_TIMEOUT_S, ProverUnavailable, ProvingProcess

logger = logging.getLogger("pilechain.monitoring")

# The OBIS codes of an import energy register (active energy, total or tariff 1).
ENERGY_REGISTERS = (None, "1-b:1.8.0", "1-0:1.8.0", "1-0:1.8.1")
CHUNK = 200  # records proved per job on the proving thread
REMOTE_FROM = 500  # a run with at least this many records to prove has them proved by the helper process
WAIT_S = 2 * CHUNK_TIMEOUT_S  # longest wait for the proving thread; then the contract's thread proves it


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_process = ProvingProcess()


def _proving_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pilechain-prove")
        return _pool


def _after_fork_in_child() -> None:
    """A forked process (a Celery prefork worker) has no proving thread, and the helper serves the
    parent: start afresh."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()
    _process.forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_process.stop)


class Verifier:
    def __init__(self, *, remote_from: int = REMOTE_FROM):
        self._keys = KeyCache()
        self._remote_from = remote_from
        self._proofs: dict[tuple[str, tuple], Proof | tuple[Future, int]] = {}

    def _prove_here(self, chunk: list) -> list[Proof]:
        return [prove(text, list(keys), self._keys.get) for text, keys in chunk]

    def _prove_away(self, chunk: list) -> list[Proof]:
        try:
            return _process.prove_chunk(chunk)
        except ProverUnavailable as exc:
            logger.warning("signed readings proved in this process: %s", exc)
            return self._prove_here(chunk)

    def start(self, items) -> None:
        """Begin proving (record text, keys) pairs on the proving thread."""
        todo = list(dict.fromkeys((text, tuple(keys)) for text, keys in items if (text, tuple(keys)) not in self._proofs))
        job = self._prove_away if len(todo) >= self._remote_from else self._prove_here
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            future = _proving_pool().submit(job, chunk)
            for index, item in enumerate(chunk):
                self._proofs[item] = (future, index)

    def _proof(self, record_text: str, keys: tuple) -> Proof:
        found = self._proofs.get((record_text, keys))
        if found is None:
            return prove(record_text, list(keys), self._keys.get)
        if isinstance(found, Proof):
            return found
        future, index = found
        try:
            proof = future.result(timeout=WAIT_S)[index]
        except FutureTimeout:
            logger.warning("the proving thread is stuck: a signed reading proved in the contract's thread")
            proof = prove(record_text, list(keys), self._keys.get)
        self._proofs[(record_text, keys)] = proof
        return proof

    def check(self, record_text: str, *, keys: list[str], at: dt.datetime, register_wh: int | None) -> tuple[str, str] | None:
        """(code, detail) when the record does not prove `register_wh` at `at`, else None."""
        proof = self._proof(record_text, tuple(keys))
        if proof.failure:
            return proof.failure
        if len(proof.readings) != 1:
            return "signed_reading_mismatch", f"the signed record holds {len(proof.readings)} readings, not one"
        when, mwh, obis = proof.readings[0]
        if mwh is None or obis not in ENERGY_REGISTERS:
            return "signed_reading_mismatch", "the signed reading is not an energy register"
        if when.replace(microsecond=0) != at.replace(microsecond=0):
            return "signed_reading_mismatch", (f"the signed reading is of {when.isoformat()}, not of the "
                                               f"interval's end ({at.isoformat()})")
        if register_wh is None or mwh != register_wh * 1000:
            return "signed_reading_mismatch", (f"the signed reading is {mwh} mWh; the report says "
                                               f"{register_wh} Wh at the interval's end")
        return None
