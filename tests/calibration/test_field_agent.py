"""The field agent reads the simulated box over real Modbus TCP, and the record flows into a verification."""

import json
import shutil
import subprocess
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from calibration.fieldagent.__main__ import main as agent_main
from calibration.fieldagent.boxclient import AgentError, BoxClient
from calibration.fieldagent.upload import RECORDS_PATH, UploadError, upload_record
from calibration.fieldbox import registers as reg
from calibration.fieldbox.acceptance import accept_record
from calibration.fieldbox.record import ReplayError, SignatureError, verify_record
from calibration.limits.conclusion import FAIL, PASS, evaluate, readings_from_record
from calibration.limits.table import limits_for_pile_kind
from ledger.chain.crypto import PublicKey, SigningKey

from tests.processes import free_port

POINTS = [(32_000, 1_000_000), (16_000, 1_000_000), (3_200, 500_000)]
AC = limits_for_pile_kind("ac")
ALL_CHECKS_OK = {name: True for name in AC.lookup("visual_functional", accuracy_class=1, verification="first").checks}


@pytest.fixture(scope="module")
def at_the_limit(start_box):
    """A pile exactly at the class 1 working error limit (+1.00 %) and the 5 s clock limit."""
    return start_box("--serial", "TB-EDGE", "--key-kind", "p256", "--pile-error-ppm", "10000",
                     "--clock-drift-ms", "5000")


@pytest.fixture(scope="module")
def out_of_tolerance(start_box):
    return start_box("--serial", "TB-FAR", "--key-kind", "ed25519", "--behaviour", "out-of-tolerance")


def take(box, pile="PILE-A1", today=None):
    with BoxClient(host="127.0.0.1", port=box.port) as client:
        return client.take_record(pile_code=pile, load_points=POINTS, today=today or date.today())


def key_of(box):
    return PublicKey.from_hex(box.announced["key_kind"], box.public_key_hex)


def test_a_pile_at_the_limits_passes_class_1_first_verification(at_the_limit):
    record = take(at_the_limit)
    accept_record(record, box_serial="TB-EDGE", public_key=key_of(at_the_limit),
                  certificate_expires=date.today() + timedelta(days=30), last_sequence=None)
    assert [(p["standard_energy_mwh"], p["indicated_energy_mwh"]) for p in record["load_points"]] == [
        (1_000_000, 1_010_000), (1_000_000, 1_010_000), (500_000, 505_000)]
    assert record["clock"]["pile_ms"] - record["clock"]["reference_ms"] == 5_000
    assert record["billing"] == {"energy_mwh": 2_525_000, "tariff_cny_per_kwh": "0.8000", "billed_cny": "2.0200"}

    conclusion = evaluate(readings_from_record(record, visual_checks=ALL_CHECKS_OK, insulation_mohm="100"),
                          limits=AC, accuracy_class=1, verification="first")
    assert conclusion.item("working_error").details == (Decimal("1.00"), Decimal("1.00"), Decimal("1.00"))
    assert conclusion.item("indication_error").value == Decimal("1.00")
    assert conclusion.item("billing_error").value == Decimal("0.0000")
    assert conclusion.item("clock_error").value == Decimal("5.000")
    assert conclusion.overall == PASS


def test_an_out_of_tolerance_pile_fails(out_of_tolerance):
    record = take(out_of_tolerance, pile="PILE-B1")
    verify_record(record, key_of(out_of_tolerance))
    conclusion = evaluate(readings_from_record(record, visual_checks=ALL_CHECKS_OK, insulation_mohm="100"),
                          limits=AC, accuracy_class=2, verification="subsequent")
    assert conclusion.item("working_error").details == (Decimal("2.50"), Decimal("2.50"), Decimal("2.50"))
    assert conclusion.item("working_error").status == FAIL
    assert conclusion.overall == FAIL


def test_each_record_has_a_higher_sequence_and_an_old_one_is_a_replay(at_the_limit):
    first, second = take(at_the_limit), take(at_the_limit)
    assert second["sequence"] == first["sequence"] + 1
    kwargs = dict(box_serial="TB-EDGE", public_key=key_of(at_the_limit),
                  certificate_expires=date.today() + timedelta(days=30))
    accept_record(second, last_sequence=first["sequence"], **kwargs)
    with pytest.raises(ReplayError):
        accept_record(first, last_sequence=second["sequence"], **kwargs)
    with pytest.raises(ReplayError):
        accept_record(second, last_sequence=second["sequence"], **kwargs)


def test_a_record_does_not_verify_with_another_key(at_the_limit):
    with pytest.raises(SignatureError, match="does not verify with the key of box TB-EDGE"):
        verify_record(take(at_the_limit), SigningKey.generate("p256").public_key)


def test_the_agent_refuses_a_box_whose_certificate_expired(start_box):
    expired = start_box("--serial", "TB-OLD", "--cert-expires", (date.today() - timedelta(days=1)).isoformat())
    with pytest.raises(AgentError, match="TB-OLD: its certificate expired on"):
        take(expired)
    # The box is fine on its last valid day.
    assert take(expired, today=date.today() - timedelta(days=1))["box_serial"] == "TB-OLD"


def test_the_box_explains_a_refused_command(at_the_limit):
    with BoxClient(host="127.0.0.1", port=at_the_limit.port) as client:
        client.write("pile code", reg.HOLDING["PILE_CODE"].address, reg.encode(reg.HOLDING["PILE_CODE"], "PILE-A1"))
        client.command("NEW_RECORD", reg.CMD_NEW_RECORD)
        with pytest.raises(AgentError, match="refused SEAL: no load point measured"):
            client.command("SEAL", reg.CMD_SEAL)


def test_no_box_listening_is_a_clear_error():
    with pytest.raises(AgentError, match="cannot connect to the test box"):
        with BoxClient(host="127.0.0.1", port=free_port(), timeout=0.5):
            pass


# -- the command line and the upload ------------------------------------------------------------------

class Platform(BaseHTTPRequestHandler):
    """A stand-in for the records endpoint, which the platform does not have yet."""
    received = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != "Token good-token":
            return self._answer(401, {"detail": "Invalid token."})
        if self.path != RECORDS_PATH:
            return self._answer(404, {"detail": "Not found."})
        Platform.received.append(body)
        self._answer(201, {"url": f"/calibration/records/{body['box_serial']}-{body['sequence']}/"})

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_read_saves_the_record_and_upload_sends_it(at_the_limit, platform, tmp_path, capsys):
    out = tmp_path / "record.json"
    assert agent_main(["read", "--host", "127.0.0.1", "--port", str(at_the_limit.port), "--pile", "PILE-A1",
                       "--load-point", "32000:1000000", "--load-point", "3200:500000",
                       "--public-key", at_the_limit.public_key_hex, "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    verify_record(record, key_of(at_the_limit))
    assert len(record["load_points"]) == 2
    assert agent_main(["upload", "--record", str(out), "--api", platform, "--token", "good-token"]) == 0
    assert Platform.received[-1] == record
    assert "uploaded record TB-EDGE#" in capsys.readouterr().out


def test_read_refuses_a_record_that_does_not_match_the_given_key(at_the_limit, tmp_path, capsys):
    other = SigningKey.generate("p256").public_key.hex
    assert agent_main(["read", "--host", "127.0.0.1", "--port", str(at_the_limit.port), "--pile", "PILE-A1",
                       "--public-key", other, "--out", str(tmp_path / "r.json")]) == 1
    assert "does not check out against the given key" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_upload_errors_are_clear(platform):
    with pytest.raises(UploadError, match="HTTP 401 .*token was not accepted.*Invalid token"):
        upload_record(api=platform, token="bad", record={"sequence": 1})
    with pytest.raises(UploadError, match="cannot reach .*upload the saved file later"):
        upload_record(api=f"http://127.0.0.1:{free_port()}", token="good-token", record={}, timeout=2)
    with pytest.raises(UploadError, match="no token"):
        upload_record(api=platform, token="", record={})


def test_bad_load_point_syntax_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        agent_main(["read", "--host", "x", "--pile", "P1", "--out", "o", "--load-point", "32A:1kWh"])
    assert "CURRENT_mA:ENERGY_mWh" in capsys.readouterr().err


# -- Modbus RTU on a serial line: two pseudo-terminals joined by socat stand in for the cable ---------

@pytest.fixture
def serial_cable(tmp_path):
    import serial  # noqa: F401  (pyserial is pinned in requirements.txt: Modbus RTU needs it)

    socat = shutil.which("socat")
    assert socat, "socat is not installed (scripts/test installs it); it stands in for the serial cable"
    box_end, laptop_end = tmp_path / "box-tty", tmp_path / "laptop-tty"
    process = subprocess.Popen([socat, f"pty,raw,echo=0,link={box_end}", f"pty,raw,echo=0,link={laptop_end}"])
    deadline = time.monotonic() + 10
    while not (box_end.exists() and laptop_end.exists()):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("socat did not create the pseudo-terminals")
        time.sleep(0.05)
    yield str(box_end), str(laptop_end)
    process.terminate()
    process.wait(timeout=5)


def test_the_agent_reads_a_box_over_modbus_rtu(start_box, serial_cable):
    box_end, laptop_end = serial_cable
    box = start_box("--serial", "TB-RTU", "--serial-port", box_end, "--baudrate", "19200", "--device-id", "7",
                    "--pile-error-ppm", "-20000")
    with BoxClient(serial_port=laptop_end, baudrate=19200, device_id=7) as client:
        record = client.take_record(pile_code="DC-7", load_points=POINTS, today=date.today())
    verify_record(record, key_of(box))
    conclusion = evaluate(readings_from_record(record, visual_checks=ALL_CHECKS_OK, insulation_mohm="100"),
                          limits=limits_for_pile_kind("dc"), accuracy_class=2, verification="first")
    assert conclusion.item("working_error").details == (Decimal("-2.00"),) * 3
    assert conclusion.overall == PASS
