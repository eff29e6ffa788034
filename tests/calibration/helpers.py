"""Box records made and signed the way a test box does, for the platform-side calibration tests."""

from __future__ import annotations

import time

from calibration.fieldbox.record import build_record, sign_record
from tests.conftest import signing_key

TB1_KEY = signing_key(3)  # the device key the world fixture registers for TB-1
CHECKS = ("nameplate_and_marks", "enclosure_and_cable", "display", "charging_interface", "emergency_stop",
          "billing_function", "communication")
ALL_OK = {"visual_checks": {c: True for c in CHECKS}, "insulation_mohm": "25.0", "time_of_use": True}


def box_record(*, sequence: int, pile: str = "PILE-A1", box: str = "TB-1", key=TB1_KEY,
               indicated=(1_000_000, 1_000_000, 500_000), displayed=2_500_000, clock_offset_ms=0,
               billed="2.0000", timestamp_ms: int | None = None) -> dict:
    """A signed record: three load points (1 kWh, 1 kWh, 0.5 kWh standard energy) with the pile's
    indicated energies as given, a 2.5 kWh session displayed as `displayed`, billed at 0.8000 CNY/kWh."""
    now = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    standards = (1_000_000, 1_000_000, 500_000)
    record = build_record(
        box_serial=box, sequence=sequence, pile_code=pile, timestamp_ms=now,
        load_points=[{"current_ma": c, "voltage_mv": 220_000, "duration_ms": 500_000, "standard_energy_mwh": s,
                      "indicated_energy_mwh": i} for c, s, i in zip((32_000, 16_000, 3_200), standards, indicated)],
        indication={"standard_energy_mwh": 2_500_000, "displayed_energy_mwh": displayed},
        billing={"energy_mwh": 2_500_000, "tariff_cny_per_kwh": "0.8000", "billed_cny": billed},
        clock={"pile_ms": now + clock_offset_ms, "reference_ms": now},
    )
    return sign_record(record, key)
