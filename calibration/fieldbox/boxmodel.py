"""A test box and the pile it is connected to, as a state machine over two register images.

No I/O: `simulator` puts it behind a Modbus server. The pile's behaviour (meter error, clock drift,
billing error) is what a real site would show; the box's measurements are exact, since the point of
the simulator is to exercise the agent and the conclusion rules, not to model a standard meter's noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date

from calibration.fieldbox import codec
from calibration.fieldbox import record as rec
from calibration.fieldbox import registers as reg
from calibration.fieldbox.certificate import yyyymmdd
from ledger.chain.crypto import SigningKey

PPM = 1_000_000


@dataclass(frozen=True)
class PileBehaviour:
    meter_error_ppm: int = 0            # the pile's meter reads high (+) or low (-) by this much
    display_error_ppm: int | None = None  # its display; None: the same as the meter
    clock_drift_ms: int = 0             # the pile's clock minus true time
    billing_error_e4: int = 0           # added to a correct bill, in 0.0001 CNY
    tariff_e4: int = 8_000              # 0.8000 CNY/kWh
    voltage_mv: int = 220_000


PRESETS = {
    "exact": PileBehaviour(),
    "slightly-fast": PileBehaviour(meter_error_ppm=5_000),
    "out-of-tolerance": PileBehaviour(meter_error_ppm=25_000),
    "clock-drift": PileBehaviour(clock_drift_ms=240_000),
    "billing-error": PileBehaviour(billing_error_e4=500),
}
KEY_KIND_CODES = {kind: code for code, kind in reg.KEY_KINDS.items()}


def _scaled(value: int, ppm: int) -> int:
    """value * (1 + ppm/1e6), rounded half up, in integers."""
    return (value * (PPM + ppm) * 2 + PPM) // (2 * PPM)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class TestBox:
    __test__ = False  # not a pytest test class despite the name

    def __init__(self, *, serial: str, key: SigningKey, cert_expires: date, behaviour: PileBehaviour,
                 next_sequence: int = 1, clock=now_ms, on_sealed=None):
        self._key = key
        self.public_key = key.public_key
        self.serial = serial
        self.behaviour = behaviour
        self.next_sequence = next_sequence
        self.clock = clock
        self.on_sealed = on_sealed  # called with the new sequence, to persist it
        self.input = [0] * reg.INPUT_SIZE
        self.holding = [0] * reg.HOLDING_SIZE
        self.points: list[dict] | None = None
        self.pending: dict | None = None
        self.pile_code = ""
        raw = key.public_key.raw
        for name, value in (("MAP_VERSION", reg.MAP_VERSION), ("KEY_KIND", KEY_KIND_CODES[key.kind]),
                            ("CERT_EXPIRES", yyyymmdd(cert_expires)), ("BOX_SERIAL", serial),
                            ("PUBLIC_KEY_LEN", len(raw)), ("PUBLIC_KEY", raw)):
            reg.put(self.input, reg.INPUT[name], value)

    def _set(self, name: str, value) -> None:
        reg.put(self.input, reg.INPUT[name], value)

    def write_holding(self, address: int, values: list[int]) -> int:
        """Store written registers; run COMMAND if it was written. Answers an ERRORS code (0: accepted)."""
        self.holding[address:address + len(values)] = values
        command = reg.HOLDING["COMMAND"].address
        if not address <= command < address + len(values):
            return 0
        code = self._run(values[command - address])
        self._set("ERROR_CODE", code)
        return code

    def _run(self, command: int) -> int:
        if self.pending is not None:
            return 6
        if command == reg.CMD_NEW_RECORD:
            return self._new_record()
        if command == reg.CMD_MEASURE:
            return self._measure()
        if command == reg.CMD_SEAL:
            return self._seal()
        return 1

    def _new_record(self) -> int:
        try:
            code = reg.get(self.holding, reg.HOLDING["PILE_CODE"])
        except reg.RegisterError:
            return 2
        if not rec.valid_pile_code(code):
            return 2
        self.pile_code, self.points = code, []
        # Wipe the previous record so nothing of it can be read as part of the new one.
        signature = reg.INPUT["SIGNATURE"]
        for start, end in ((reg.INPUT["SEQUENCE"].address, reg.INPUT["PUBLIC_KEY_LEN"].address),
                           (reg.LOAD_POINT_BASE, reg.load_point_base(reg.MAX_LOAD_POINTS - 1) + reg.LOAD_POINT_STRIDE),
                           (signature.address, signature.address + signature.words)):
            self.input[start:end] = [0] * (end - start)
        self._set("LOAD_POINT_COUNT", 0)
        self._set("RECORD_READY", 0)
        self._set("STATUS", reg.IDLE)
        return 0

    def _measure(self) -> int:
        if self.points is None:
            return 3
        if len(self.points) >= reg.MAX_LOAD_POINTS:
            return 4
        current = reg.get(self.holding, reg.HOLDING["LOAD_CURRENT_MA"])
        energy = reg.get(self.holding, reg.HOLDING["LOAD_ENERGY_MWH"])
        if not (0 < current <= 1_000_000 and 0 < energy):
            return 5
        power_mw = self.behaviour.voltage_mv * current // 1000
        self.pending = {
            "current_ma": current,
            "voltage_mv": self.behaviour.voltage_mv,
            "duration_ms": min(energy * 3_600_000 // power_mw, 2**32 - 1),
            "standard_energy_mwh": energy,
            "indicated_energy_mwh": _scaled(energy, self.behaviour.meter_error_ppm),
        }
        self._set("STATUS", reg.MEASURING)
        return 0

    def complete_measurement(self) -> None:
        """The load point has run its energy: publish its row (the simulator calls this after a delay)."""
        if self.pending is None:
            return
        index = len(self.points)
        self.points.append(self.pending)
        self.pending = None
        for field in reg.LOAD_POINT_FIELDS:
            reg.put(self.input, field, self.points[index][field.name], base=reg.load_point_base(index))
        self._set("LOAD_POINT_COUNT", len(self.points))
        self._set("STATUS", reg.POINT_DONE)

    def _seal(self) -> int:
        if self.points is None:
            return 3
        if not self.points:
            return 7
        b = self.behaviour
        display_ppm = b.meter_error_ppm if b.display_error_ppm is None else b.display_error_ppm
        standard = sum(p["standard_energy_mwh"] for p in self.points)
        displayed = _scaled(standard, display_ppm)
        # The pile bills its displayed energy and rounds to the fen (0.01 CNY = 100 in 0.0001 units).
        exact_e4_x1e6 = displayed * b.tariff_e4
        billed_e4 = (exact_e4_x1e6 + 50 * PPM) // (100 * PPM) * 100 + b.billing_error_e4
        reference = self.clock()
        record = rec.build_record(
            box_serial=self.serial, sequence=self.next_sequence, pile_code=self.pile_code, timestamp_ms=reference,
            load_points=self.points,
            indication={"standard_energy_mwh": standard, "displayed_energy_mwh": displayed},
            billing={"energy_mwh": displayed, "tariff_cny_per_kwh": codec.money_from_e4(b.tariff_e4),
                     "billed_cny": codec.money_from_e4(max(billed_e4, 0))},
            clock={"pile_ms": reference + b.clock_drift_ms, "reference_ms": reference},
        )
        signed = rec.sign_record(record, self._key)
        codec.put_record(self.input, signed)
        self.points = None
        self.next_sequence += 1
        if self.on_sealed:
            self.on_sealed(self.next_sequence)
        self._set("RECORD_READY", 1)
        self._set("STATUS", reg.SEALED)
        return 0


def behaviour_with(preset: str = "exact", **overrides) -> PileBehaviour:
    return replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
