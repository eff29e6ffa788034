"""Test boxes for the calibration tests: the real simulator, in its own process, on a free localhost port.

The device key is made inside that process, as on a real box; the tests learn only its public key,
from the line the simulator prints once it listens.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20


class RunningBox:
    def __init__(self, *args: str):
        self.port = free_port()
        # A file, not a pipe: a pipe nobody reads would block the simulator once pymodbus fills it.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "calibration.fieldbox.simulator", "--host", "127.0.0.1",
             "--port", str(self.port), "--measure-seconds", "0.05", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        ready, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.log.seek(0)
            log = self.log.read()[-2000:]
            self.stop()
            raise RuntimeError(f"simulator did not start: {log}")
        self.announced = json.loads(line)

    @property
    def public_key_hex(self) -> str:
        return self.announced["public_key"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.log.close()


@pytest.fixture(scope="module")
def start_box():
    boxes = []

    def start(*args: str) -> RunningBox:
        box = RunningBox(*args)
        boxes.append(box)
        return box

    yield start
    for box in boxes:
        box.stop()
