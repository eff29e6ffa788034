"""The helper process that proves signed register readings (monitoring.intervals.prover): the same
proofs as in-process proving, and a helper that dies, hangs or cannot start is an operational failure
the Verifier survives by proving in its own process, never a verdict."""

import datetime as dt
import sys

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


def test_a_helper_that_died_is_replaced_and_nothing_is_lost(records):
    outcomes(Verifier(remote_from=1), records[:3])
    child = signed._process._child
    child.kill()
    child.wait()
    assert outcomes(Verifier(remote_from=1), records) == outcomes(Verifier(remote_from=10**9), records)
    assert signed._process._child is not None and signed._process._child.pid != child.pid


def test_a_helper_that_hangs_or_cannot_start_is_unavailable_and_the_verifier_proves_here(records, monkeypatch,
                                                                                        caplog):
    hanging = ProvingProcess([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=0.5)
    with pytest.raises(ProverUnavailable, match="too long"):
        hanging.prove_chunk([(records[0][0], tuple(records[0][1]))])
    assert hanging._child is None  # killed, not left behind
    missing = ProvingProcess(["/nonexistent/python"])
    with pytest.raises(ProverUnavailable, match="could not start"):
        missing.prove_chunk([(records[0][0], tuple(records[0][1]))])
    quitting = ProvingProcess([sys.executable, "-c", "pass"])
    with pytest.raises(ProverUnavailable, match="closed its output|Broken pipe"):
        quitting.prove_chunk([(records[0][0], tuple(records[0][1]))])

    monkeypatch.setattr(signed, "_process", hanging)
    with caplog.at_level("WARNING", logger="pilechain.monitoring"):
        assert outcomes(Verifier(remote_from=1), records) == outcomes(Verifier(remote_from=10**9), records)
    assert "proved in this process" in caplog.text


def test_the_helper_leaves_when_its_input_closes(records):
    helper = ProvingProcess()
    helper.prove_chunk([(records[0][0], tuple(records[0][1]))])
    child = helper._child
    child.stdin.close()
    assert child.wait(timeout=10) == 0
    assert prover.CHUNK_TIMEOUT_S > 1
