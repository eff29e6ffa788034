"""From the box to the ledger: the field agent reads the simulator over real Modbus TCP, uploads through
the live server's API with a real token, the test commits the block, and the verification's
conclusion matches the limits at the boundaries. Expected values are written out by hand."""

from __future__ import annotations

import json

import pytest

from calibration.fieldagent.__main__ import main as agent_main
from calibration.models import VerificationRecord
from ledger.models import Submission
from tests.calibration.helpers import ALL_OK, TB1_KEY
from tests.utils.ledger import commit_pending

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def field(world, token_client, tmp_path):
    key_file = tmp_path / "tb1.pem"
    key_file.write_text(TB1_KEY.to_pem())  # the key registered for TB-1 lives in the simulated box only
    observations = tmp_path / "observations.json"
    observations.write_text(json.dumps({"kind": "first", **ALL_OK}))
    token = token_client("metro_manager", staff_role="engineer").token_key
    return {"key_file": str(key_file), "observations": str(observations), "token": token,
            "state": str(tmp_path / "tb1-state.json"), "dir": tmp_path}


def run_agent(field, box, live_server, pile: str, *extra: str) -> tuple[int, dict]:
    out = field["dir"] / f"{pile}-{box.port}.json"
    code = agent_main(["read", "--host", "127.0.0.1", "--port", str(box.port), "--pile", pile, "--out", str(out),
                       "--api", live_server.url, "--token", field["token"], *extra])
    return code, json.loads(out.read_text()) if out.exists() else {}


def start_tb1(start_box, field, *args):
    return start_box("--serial", "TB-1", "--key-kind", "ed25519", "--key-file", field["key_file"],
                     "--state-file", field["state"], *args)


# (pile, simulator options, working errors per load point in %, clock error s, expected conclusion)
# PILE-A1 is AC class 2 (limit ±2.0 %), PILE-B1 DC class 1 (±1.0 %); first verification: clock ≤ 5 s.
CASES = [
    ("PILE-A1", ["--pile-error-ppm", "19900"], ["1.99", "1.99", "1.99"], "0.000", "pass"),   # just inside
    ("PILE-A1", ["--pile-error-ppm", "20000"], ["2.00", "2.00", "2.00"], "0.000", "pass"),   # exactly at
    ("PILE-A1", ["--pile-error-ppm", "20100"], ["2.01", "2.01", "2.01"], "0.000", "fail"),   # just outside
    ("PILE-B1", ["--pile-error-ppm", "-10000"], ["-1.00", "-1.00", "-1.00"], "0.000", "pass"),  # at, slow meter
    ("PILE-B1", ["--pile-error-ppm", "10100"], ["1.01", "1.01", "1.01"], "0.000", "fail"),
    ("PILE-A1", ["--clock-drift-ms", "5000"], ["0.00", "0.00", "0.00"], "5.000", "pass"),
    ("PILE-A1", ["--clock-drift-ms", "5001"], ["0.00", "0.00", "0.00"], "5.001", "fail"),
]


@pytest.mark.parametrize("pile, options, working, clock, conclusion", CASES)
def test_box_to_verification_at_the_boundaries(field, start_box, live_server, capsys,
                                               pile, options, working, clock, conclusion):
    box = start_tb1(start_box, field, *options)
    code, record = run_agent(field, box, live_server, pile, "--observations", field["observations"])
    assert code == 0, capsys.readouterr().err
    assert "(pending)" in capsys.readouterr().out
    block = commit_pending()
    row = VerificationRecord.objects.get(box_serial="TB-1", sequence=record["sequence"])
    items = {i["item"]: i for i in row.items}
    assert items["working_error"]["details"] == working
    assert items["clock_error"]["value"] == clock
    assert row.conclusion == conclusion and row.height == block.height
    assert row.measurement == record
    assert row.pile.compliance.status == ("compliant" if conclusion == "pass" else "non_compliant")


def test_bare_upload_is_a_draft_and_replay_is_refused(field, start_box, live_server, capsys):
    box = start_tb1(start_box, field)
    code, record = run_agent(field, box, live_server, "PILE-A1")
    assert code == 0 and "(draft)" in capsys.readouterr().out
    # The same file uploaded with observations files it; uploading it once more is refused and loses nothing.
    saved = field["dir"] / f"PILE-A1-{box.port}.json"
    args = ["upload", "--record", str(saved), "--api", live_server.url, "--token", field["token"],
            "--observations", field["observations"]]
    assert agent_main(args) == 0
    assert agent_main(args) == 1
    assert "HTTP 409" in capsys.readouterr().err
    commit_pending()
    assert agent_main(args) == 1
    assert "already filed" in capsys.readouterr().err
    assert VerificationRecord.objects.filter(sequence=record["sequence"]).count() == 1
    assert Submission.objects.filter(type="calibration.record_file").count() == 1


def test_forged_and_expired_over_the_wire(field, start_box, live_server, capsys):
    from registry.models import FieldTestBox

    # A box with another key pretending to be TB-1: the signature does not verify with TB-1's registered key.
    impostor = start_box("--serial", "TB-1", "--key-kind", "ed25519")
    code, _ = run_agent(field, impostor, live_server, "PILE-A1", "--observations", field["observations"])
    assert code == 1 and "signature does not verify" in capsys.readouterr().err
    # TB-1's own certificate has expired in the registry: the platform refuses its records.
    FieldTestBox.objects.filter(serial="TB-1").update(certificate_expires_on="2024-12-31")
    box = start_tb1(start_box, field)
    code, _ = run_agent(field, box, live_server, "PILE-A1", "--observations", field["observations"])
    assert code == 1 and "expired on 2024-12-31" in capsys.readouterr().err
    assert not Submission.objects.filter(type="calibration.record_file").exists()
