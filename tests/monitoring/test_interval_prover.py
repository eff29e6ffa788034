"""The helper process that proves signed register readings (monitoring.intervals.prover): the same
proofs as in-process proving, and a helper that dies, hangs or cannot start is an operational failure
the Verifier survives by proving in its own process, never a verdict."""

import datetime as dt
import os
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.simulator.ocmf_signer import signed_register_record
from monitoring.intervals import prover, signed
from monitoring.intervals.prover import ProverUnavailable, ProvingProcess
from monitoring.intervals.signed import Verifier

END = dt.datetime(2030, 3, 1, 0, 15, tzinfo=dt.timezone.utc)


def key_hex(private_key) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).hex()


@pytest.fixture(scope="module")
def records():
    """(record, keys, register Wh) of honest, forged, foreign-key and malformed readings."""
    meter, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    keys = [key_hex(meter)]
    honest = [(signed_register_record(meter, meter_serial="M-1", pagination=n, at=END, wh=1000 + n), keys, 1000 + n)
              for n in range(1, 41)]
    forged = honest[0][0].replace('"RV":1001', '"RV":9001')
    return [
        *honest,
        (forged, keys, 9001),
        (signed_register_record(other, meter_serial="M-1", pagination=1, at=END, wh=1001), keys, 1001),
        ("OCMF|not json|{}", keys, 1001),
        (honest[1][0], [], 1002),  # no meter key registered
        (honest[2][0], keys, 5),  # verifies, but another register
    ]


@pytest.fixture(scope="module")
def many():
    """450 honest readings: several chunks, each larger than a pipe holds."""
    meter = ec.generate_private_key(ec.SECP256R1())
    keys = [key_hex(meter)]
    return [(signed_register_record(meter, meter_serial="M-2", pagination=n, at=END, wh=5000 + n), keys, 5000 + n)
            for n in range(1, 451)]


def outcomes(verifier: Verifier, records) -> list:
    verifier.start((text, keys) for text, keys, _ in records)
    return [verifier.check(text, keys=keys, at=END, register_wh=wh) for text, keys, wh in records]


def test_the_helper_proves_what_this_process_proves(records):
    here = outcomes(Verifier(remote_from=10**9), records)
    away = outcomes(Verifier(remote_from=1), records)
    assert away == here
    assert here[:40] == [None] * 40
    assert [o[0] for o in here[40:]] == ["signature_failed", "signature_failed", "signature_failed",
                                         "signature_failed", "signed_reading_mismatch"]
    assert signed._process._child is not None and signed._process._child.poll() is None  # it ran, and stays


def test_a_helper_that_died_is_replaced_and_nothing_is_lost(records, many):
    assert outcomes(Verifier(remote_from=1), many) == [None] * len(many)  # several chunks through the helper
    outcomes(Verifier(remote_from=1), records[:3])
    child = signed._process._child
    child.kill()
    child.wait()
    assert outcomes(Verifier(remote_from=1), records) == outcomes(Verifier(remote_from=10**9), records)
    assert signed._process._child is not None and signed._process._child is not child


def chunk(records, n=1):
    return [(text, tuple(keys)) for text, keys, _ in records[:n]]


# A child that answers every chunk with the given Python expression of `items`, pickled and framed.
ANSWERING = """
import os, pickle, sys
sys.path.insert(0, os.getcwd())
from monitoring.intervals import proof
def read(n):
    data = b""
    while len(data) < n:
        part = os.read(0, n - len(data))
        if not part:
            sys.exit(0)
        data += part
    return data
while True:
    items = pickle.loads(read(int.from_bytes(read(8), "big")))
    out = pickle.dumps(%s)
    os.write(1, len(out).to_bytes(8, "big") + out)
"""


@pytest.mark.parametrize("answer", [
    "[None] * len(items)",  # the right length, not proofs
    "[proof.Proof(None, ((1, 2, 3),))] * len(items)",  # proofs of the wrong shape
    "[proof.Proof(('signature_failed', 'x'))] * (len(items) + 1)",  # too many
    "{'proofs': []}",
])
def test_a_helper_answering_anything_but_proofs_is_unavailable(records, answer):
    helper = ProvingProcess([sys.executable, "-c", ANSWERING % answer], timeout_s=10)
    with pytest.raises(ProverUnavailable, match="answered something else"):
        helper.prove_chunk(chunk(records, 3))
    assert helper._child is None


def test_an_unpicklable_answer_is_unavailable_too(records):
    script = ANSWERING.replace("out = pickle.dumps(%s)", "out = b'\\x80\\x04cnowhere\\nNothing\\n.'")
    helper = ProvingProcess([sys.executable, "-c", script], timeout_s=10)
    with pytest.raises(ProverUnavailable, match="ModuleNotFoundError|UnpicklingError|AttributeError"):
        helper.prove_chunk(chunk(records, 3))


def test_a_helper_that_hangs_or_cannot_start_is_unavailable_and_the_verifier_proves_here(records, many, monkeypatch,
                                                                                        caplog):
    hanging = ProvingProcess([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5, cool_off_s=0)
    with pytest.raises(ProverUnavailable, match="too long"):
        hanging.prove_chunk(chunk(records))
    assert hanging._child is None  # killed, not left behind
    # A chunk larger than a pipe holds, to a child that never reads: the sending times out too.
    started = time.monotonic()
    with pytest.raises(ProverUnavailable, match="too long"):
        hanging.prove_chunk(chunk(many, 200))
    assert time.monotonic() - started < 5
    missing = ProvingProcess(["/nonexistent/python"])
    with pytest.raises(ProverUnavailable, match="could not start"):
        missing.prove_chunk(chunk(records))
    quitting = ProvingProcess([sys.executable, "-c", "pass"])
    with pytest.raises(ProverUnavailable, match="closed its output|Broken pipe|BrokenPipe"):
        quitting.prove_chunk(chunk(records))

    hanging.cool_off_s = 60
    monkeypatch.setattr(signed, "_process", hanging)
    with caplog.at_level("WARNING", logger="pilechain.monitoring"):
        started = time.monotonic()
        assert outcomes(Verifier(remote_from=1), many) == outcomes(Verifier(remote_from=10**9), many)
    assert "proved in this process" in caplog.text
    # One chunk waited for the helper; the others were proved here at once (its cool-off).
    assert time.monotonic() - started < 5
    assert "failed less than a minute ago" in caplog.text


def test_a_forked_process_proves_with_a_helper_of_its_own(records):
    expected = outcomes(Verifier(remote_from=10**9), records)
    outcomes(Verifier(remote_from=1), records[:3])  # the parent's helper and proving thread exist
    parent_helper = signed._process._child
    pid = os.fork()
    if pid == 0:  # the forked process: no proving thread, the parent's helper not its own
        code = 1
        try:
            code = 0 if outcomes(Verifier(remote_from=1), records) == expected else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert signed._process._child is parent_helper and parent_helper.poll() is None
    assert outcomes(Verifier(remote_from=1), records) == expected  # the parent's still serves it


def test_the_helper_leaves_when_its_input_closes(records):
    helper = ProvingProcess()
    helper.prove_chunk([(records[0][0], tuple(records[0][1]))])
    child = helper._child
    child.stdin.close()
    assert child.wait(timeout=10) == 0
    assert prover.CHUNK_TIMEOUT_S > 1
