"""A connector's register reading at the end of an interval, as its pile's meter signed it (pure).

Piles that sign their meter values (OCPP 2.0.1 signed clock-aligned data, or OCPP 1.6 SignedData)
send an OCMF record whose one reading is the energy register at the interval's end. The report
carries that record; every node checks it against the meter keys registered for the pile:

    signature_failed         the record is not OCMF, or no registered meter key verifies it
    signed_reading_mismatch  it verifies, but its reading is not the register the report gives at the
                             interval's end (another time, another value, not an energy register)

`Verifier` keeps each key it has read, so a report of thousands of signed readings reads every key once.
"""

from __future__ import annotations

import datetime as dt

import ocmf
from ocmf import OcmfError
from ocmf.crypto import check_signature, curve_for, load_public_key

# The OBIS codes of an import energy register (active energy, total or tariff 1).
ENERGY_REGISTERS = (None, "1-b:1.8.0", "1-0:1.8.0", "1-0:1.8.1")


class Verifier:
    def __init__(self):
        self._keys: dict[str, object] = {}

    def _key(self, text: str):
        key = self._keys.get(text)
        if key is None:
            try:
                key = load_public_key(text, curve_for("ECDSA-secp256r1-SHA256"))
            except OcmfError:
                key = False
            self._keys[text] = key
        return key

    def check(self, record_text: str, *, keys: list[str], at: dt.datetime, register_wh: int | None) -> tuple[str, str] | None:
        """(code, detail) when the record does not prove `register_wh` at `at`, else None."""
        try:
            record = ocmf.parse(record_text)
        except OcmfError as exc:
            return "signature_failed", f"the signed reading is not an OCMF record ({exc})"
        verified = False
        for text in keys:
            key = self._key(text)
            if key is False:
                continue
            try:
                check_signature(record, key)
            except OcmfError:
                continue
            verified = True
            break
        if not verified:
            return "signature_failed", ("no meter key is registered for the pile" if not keys
                                        else "no meter key registered for the pile verifies the signed reading")
        readings = record.payload.readings
        if len(readings) != 1:
            return "signed_reading_mismatch", f"the signed record holds {len(readings)} readings, not one"
        reading = readings[0]
        if reading.mwh is None or reading.obis not in ENERGY_REGISTERS:
            return "signed_reading_mismatch", "the signed reading is not an energy register"
        if reading.time.at.replace(microsecond=0) != at.replace(microsecond=0):
            return "signed_reading_mismatch", (f"the signed reading is of {reading.time.at.isoformat()}, not of the "
                                               f"interval's end ({at.isoformat()})")
        if register_wh is None or reading.mwh != register_wh * 1000:
            return "signed_reading_mismatch", (f"the signed reading is {reading.mwh} mWh; the report says "
                                               f"{register_wh} Wh at the interval's end")
        return None
