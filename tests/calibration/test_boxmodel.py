"""The simulated box's pile behaviours, driven through its registers without a network, and import hygiene."""

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from calibration.fieldbox import codec
from calibration.fieldbox import registers as reg
from calibration.fieldbox.boxmodel import TestBox, behaviour_with
from calibration.fieldbox.record import verify_record
from calibration.limits.conclusion import FAIL, PASS, evaluate, readings_from_record
from calibration.limits.table import limits_for_pile_kind
from ledger.chain.crypto import SigningKey

ROOT = Path(__file__).resolve().parents[2]
DC = limits_for_pile_kind("dc")
CHECKS = {name: True for name in DC.lookup("visual_functional", accuracy_class=1, verification="first").checks}
T0 = 1_795_608_000_000


def run_box(behaviour, points=((200_000, 1_000_000), (100_000, 1_000_000), (20_000, 500_000))):
    key = SigningKey.generate("ed25519")
    box = TestBox(serial="TB-MODEL", key=key, cert_expires=date(2030, 1, 1), behaviour=behaviour, clock=lambda: T0)
    box.write_holding(reg.HOLDING["PILE_CODE"].address, reg.encode(reg.HOLDING["PILE_CODE"], "DC-7"))
    assert box.write_holding(0, [reg.CMD_NEW_RECORD]) == 0
    for current, energy in points:
        setpoint = reg.encode(reg.HOLDING["LOAD_CURRENT_MA"], current) + reg.encode(reg.HOLDING["LOAD_ENERGY_MWH"], energy)
        assert box.write_holding(2, setpoint) == 0
        assert box.write_holding(0, [reg.CMD_MEASURE]) == 0
        assert box.write_holding(0, [reg.CMD_MEASURE]) == 6  # busy until the load point has run
        box.complete_measurement()
    assert box.write_holding(0, [reg.CMD_SEAL]) == 0
    header = box.input[0:97]
    record = codec.record_from_registers(header, box.input[100:100 + 16 * len(points)], box.input[240:313])
    return verify_record(record, key.public_key)


def judge(record, verification="first", accuracy_class=1):
    return evaluate(readings_from_record(record, visual_checks=CHECKS, insulation_mohm="200"),
                    limits=DC, accuracy_class=accuracy_class, verification=verification)


def test_an_exact_pile_passes():
    record = run_box(behaviour_with("exact"))
    assert judge(record).overall == PASS


def test_a_slightly_fast_pile_passes_class_1_with_half_a_percent():
    conclusion = judge(run_box(behaviour_with("slightly-fast")))
    assert conclusion.item("working_error").value == Decimal("0.50")
    assert conclusion.overall == PASS


def test_a_billing_error_of_five_fen_fails():
    conclusion = judge(run_box(behaviour_with("billing-error")))
    assert conclusion.item("billing_error").value == Decimal("0.0500")
    assert conclusion.item("billing_error").status == FAIL
    assert conclusion.overall == FAIL


def test_a_four_minute_clock_drift_fails_even_subsequent_verification():
    conclusion = judge(run_box(behaviour_with("clock-drift")), verification="subsequent")
    assert conclusion.item("clock_error").value == Decimal("240.000")
    assert conclusion.overall == FAIL


def test_a_slow_pile_just_outside_class_2():
    conclusion = judge(run_box(behaviour_with("exact", meter_error_ppm=-20_100)), accuracy_class=2)
    assert conclusion.item("working_error").details == (Decimal("-2.01"),) * 3
    assert conclusion.overall == FAIL


def test_commands_out_of_order_are_refused_with_a_reason():
    box = TestBox(serial="TB-MODEL", key=SigningKey.generate(), cert_expires=date(2030, 1, 1),
                  behaviour=behaviour_with("exact"))
    assert box.write_holding(0, [reg.CMD_MEASURE]) == 3
    assert box.write_holding(0, [reg.CMD_NEW_RECORD]) == 2  # no pile code yet
    assert box.write_holding(0, [99]) == 1
    assert reg.get(box.input, reg.INPUT["ERROR_CODE"]) == 1


@pytest.mark.parametrize("module", ["calibration.fieldagent.__main__", "calibration.limits.conclusion",
                                    "calibration.fieldbox.acceptance"])
def test_field_code_imports_no_django_and_only_pure_ledger_modules(module):
    code = (
        f"import sys, {module}\n"
        "ours = sorted(m for m in sys.modules if m.split('.')[0] in ('ledger', 'registry', 'config', 'django'))\n"
        "print(','.join(ours))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert set(out.strip().split(",")) - {""} <= {"ledger", "ledger.chain", "ledger.chain.encoding", "ledger.chain.crypto"}
