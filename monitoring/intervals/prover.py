"""A helper process that proves signed register readings on the machine's other core.

A node applies an interval of a large fleet in one Python thread; the signature checks of its signed
readings (an OCMF parse and an ECDSA verification each) would share that thread's interpreter lock.
`ProvingProcess` hands chunks of (record text, meter keys) to a child process that runs the same
pure `proof.prove` and sends the proofs back, so that they are ready when the contract reads them.

The outcome is the same wherever a record is proved: the child runs the same function on the same
input, and every answer is checked to be proofs of that shape before it is used. A child that cannot
be started, dies, answers anything else or takes longer than its deadline (for sending the chunk and
for answering) is an operational failure, never a verdict: `prove_chunk` raises ProverUnavailable,
the caller proves the chunk in its own process (monitoring.intervals.signed.Verifier does), and the
helper is not tried again for COOL_OFF_S.

Frames on the pipes: an 8-byte big-endian length, then a pickle (parent and child are the same
program, and nothing else writes to these pipes: the child moves its standard output away first).
The child leaves when its input closes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from monitoring.intervals.proof import KeyCache, Proof, prove

logger = logging.getLogger("pilechain.monitoring")

CHUNK_TIMEOUT_S = 60.0  # a chunk's proofs: a few hundred records take well under a second
COOL_OFF_S = 60.0  # after a failure, chunks are proved in the caller's process for this long
ROOT = Path(__file__).resolve().parents[2]


class ProverUnavailable(Exception):
    """The helper process could not prove a chunk (not started, died, answered garbage, too slow)."""


def _wait(fd: int, events: int, deadline: float | None) -> None:
    if deadline is None:
        return
    poller = select.poll()
    poller.register(fd, events)
    wait = deadline - time.monotonic()
    if wait <= 0 or not poller.poll(wait * 1000):
        raise ProverUnavailable("the proving process took too long")


def _send(fd: int, obj, deadline: float | None) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(data).to_bytes(8, "big") + data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            continue
        view = view[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    parts, left = [], size
    while left:
        _wait(fd, select.POLLIN, deadline)
        try:
            part = os.read(fd, min(left, 1 << 20))
        except BlockingIOError:
            continue
        if not part:
            raise ProverUnavailable("the proving process closed its output")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _receive(fd: int, deadline: float | None = None):
    size = int.from_bytes(_read_exact(fd, 8, deadline), "big")
    return pickle.loads(_read_exact(fd, size, deadline))  # noqa: S301 - our own child, over its own pipe


def _is_proof(proof) -> bool:
    """A Proof as `prove` makes them: a failure (code, detail) and no readings, or readings (time,
    mWh or None, OBIS or None) and no failure."""
    if type(proof) is not Proof:
        return False
    failure, readings = proof.failure, proof.readings
    if failure is not None:
        return (type(failure) is tuple and len(failure) == 2 and all(type(p) is str for p in failure)
                and readings == ())
    return type(readings) is tuple and all(
        type(r) is tuple and len(r) == 3 and isinstance(r[0], dt.datetime) and r[0].tzinfo is not None
        and (r[1] is None or type(r[1]) is int) and (r[2] is None or type(r[2]) is str) for r in readings)


class ProvingProcess:
    """The helper process of this process (started on first use, again after a failure's cool-off)."""

    def __init__(self, command: list[str] | None = None, *, timeout_s: float = CHUNK_TIMEOUT_S,
                 cool_off_s: float = COOL_OFF_S):
        self.command = command or [sys.executable, "-m", "monitoring.intervals.prover"]
        self.timeout_s = timeout_s
        self.cool_off_s = cool_off_s
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        self._failed_at: float | None = None

    def _started(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.stop()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        try:
            child = subprocess.Popen(self.command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     close_fds=True)
        except OSError as exc:
            raise ProverUnavailable(f"the proving process could not start: {exc}") from exc
        os.set_blocking(child.stdin.fileno(), False)
        os.set_blocking(child.stdout.fileno(), False)
        self._child = child
        return child

    def prove_chunk(self, items: list[tuple[str, tuple]]) -> list[Proof]:
        """The proofs of (record text, keys) pairs, in order."""
        with self._lock:
            if self._failed_at is not None and time.monotonic() - self._failed_at < self.cool_off_s:
                raise ProverUnavailable("the proving process failed less than a minute ago")
            try:
                child = self._started()
                deadline = time.monotonic() + self.timeout_s
                _send(child.stdin.fileno(), items, deadline)
                proofs = _receive(child.stdout.fileno(), deadline)
                if type(proofs) is not list or len(proofs) != len(items) or not all(map(_is_proof, proofs)):
                    raise ProverUnavailable("the proving process answered something else")
            except Exception as exc:  # noqa: BLE001 - whatever went wrong, it is the helper's, not a verdict
                self.stop()
                self._failed_at = time.monotonic()
                if isinstance(exc, ProverUnavailable):
                    raise
                raise ProverUnavailable(f"{exc.__class__.__name__}: {exc}") from exc
            self._failed_at = None
            return proofs

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def forget(self) -> None:
        """In a process forked from the one that started the helper: let go of its pipes without
        touching the helper, which still serves the parent."""
        child, self._child = self._child, None
        if child is not None:
            for pipe in (child.stdin, child.stdout):
                try:
                    os.close(pipe.fileno())
                except OSError:
                    pass
            _forked_away.append(child)  # never collected: its file objects would close the fds again
        self._lock = threading.Lock()
        self._failed_at = None


_forked_away: list = []


def main() -> None:
    """The child: read chunks, prove them, answer; leave when the input closes."""
    frames = os.dup(1)  # the answers' own pipe; anything printed goes to standard error instead
    os.dup2(2, 1)
    keys = KeyCache()
    while True:
        try:
            items = _receive(0)
        except ProverUnavailable:
            return
        _send(frames, [prove(text, list(key_texts), keys.get) for text, key_texts in items], None)


if __name__ == "__main__":
    main()
