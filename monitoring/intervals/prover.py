"""A helper process that proves signed register readings on the machine's other core.

A node applies an interval of a large fleet in one Python thread; the signature checks of its signed
readings (an OCMF parse and an ECDSA verification each) would share that thread's interpreter lock.
`ProvingProcess` hands chunks of (record text, meter keys) to a child process that runs the same
pure `proof.prove` and sends the proofs back, so that they are ready when the contract reads them.

The outcome is the same wherever a record is proved: the child runs the same function on the same
input. A child that cannot be started, dies, answers garbage or takes longer than CHUNK_TIMEOUT_S is
an operational failure, never a verdict: `prove_chunk` raises ProverUnavailable and the caller proves
the chunk in its own process (monitoring.intervals.signed.Verifier does).

Frames on the pipes: an 8-byte big-endian length, then a pickle (parent and child are the same
program, and nothing else writes to these pipes). The child leaves when its input closes.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from monitoring.intervals.proof import KeyCache, prove

logger = logging.getLogger("pilechain.monitoring")

CHUNK_TIMEOUT_S = 60.0  # a chunk's proofs: a few hundred records take well under a second
ROOT = Path(__file__).resolve().parents[2]


class ProverUnavailable(Exception):
    """The helper process could not prove a chunk (not started, died, answered garbage, too slow)."""


def _write_frame(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big"))
    stream.write(data)
    stream.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    parts, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise ProverUnavailable("the proving process took too long")
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            raise ProverUnavailable("the proving process closed its output")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _read_frame(fd: int, deadline: float | None = None):
    size = int.from_bytes(_read_exact(fd, 8, deadline), "big")
    return pickle.loads(_read_exact(fd, size, deadline))  # noqa: S301 - our own child, over its own pipe


class ProvingProcess:
    """The helper process of this process (started on first use, again after a fork or a failure)."""

    def __init__(self, command: list[str] | None = None, *, timeout_s: float = CHUNK_TIMEOUT_S):
        self.command = command or [sys.executable, "-m", "monitoring.intervals.prover"]
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._child: subprocess.Popen | None = None
        self._owner = 0  # the pid that started the child

    def _started(self) -> subprocess.Popen:
        if self._child is not None and self._owner == os.getpid() and self._child.poll() is None:
            return self._child
        self._child = None
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        try:
            self._child = subprocess.Popen(self.command, cwd=ROOT, env=env,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        except OSError as exc:
            raise ProverUnavailable(f"the proving process could not start: {exc}") from exc
        self._owner = os.getpid()
        return self._child

    def prove_chunk(self, items: list[tuple[str, tuple]]) -> list:
        """The proofs (signed.Proof) of (record text, keys) pairs, in order."""
        with self._lock:
            child = self._started()
            try:
                _write_frame(child.stdin, items)
                proofs = _read_frame(child.stdout.fileno(), time.monotonic() + self.timeout_s)
                if not isinstance(proofs, list) or len(proofs) != len(items):
                    raise ProverUnavailable("the proving process answered something else")
                return proofs
            except (OSError, ValueError, EOFError, pickle.UnpicklingError, ProverUnavailable) as exc:
                self.stop()
                raise exc if isinstance(exc, ProverUnavailable) else ProverUnavailable(str(exc)) from exc

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None and self._owner == os.getpid():
            child.kill()
            child.wait()


def main() -> None:
    """The child: read chunks, prove them, answer; leave when the input closes."""
    keys = KeyCache()
    stdin, stdout = sys.stdin.buffer.fileno(), sys.stdout.buffer
    while True:
        try:
            items = _read_frame(stdin)
        except ProverUnavailable:
            return
        _write_frame(stdout, [prove(text, list(key_texts), keys.get) for text, key_texts in items])


if __name__ == "__main__":
    main()
