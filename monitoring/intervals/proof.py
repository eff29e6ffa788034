"""What a signed register reading proves (pure): whether one of the pile's registered meter keys
signed the OCMF record, and what it reads. Used by monitoring.intervals.signed in the node's process
and by the helper process (monitoring.intervals.prover) alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import ocmf
from ocmf import OcmfError
from ocmf.crypto import check_signature, curve_for, load_public_key


@dataclass(frozen=True)
class Proof:
    """What a signed record proves: its failure (code, detail), or its readings (time, mWh, OBIS)."""

    failure: tuple[str, str] | None
    readings: tuple = ()


def prove(record_text: str, keys: list, load_key) -> Proof:
    """Whether one of `keys` (the pile's registered meter keys, as text) signed the record."""
    try:
        record = ocmf.parse(record_text)
    except OcmfError as exc:
        return Proof(("signature_failed", f"the signed reading is not an OCMF record ({exc})"))
    for text in keys:
        key = load_key(text)
        if key is False:
            continue
        try:
            check_signature(record, key)
        except OcmfError:
            continue
        return Proof(None, tuple((r.time.at, r.mwh, r.obis) for r in record.payload.readings))
    return Proof(("signature_failed", "no meter key is registered for the pile" if not keys
                  else "no meter key registered for the pile verifies the signed reading"))


class KeyCache:
    """Meter keys as read from their text, each read once (False: not a usable key)."""

    def __init__(self):
        self._keys: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, text: str):
        with self._lock:
            key = self._keys.get(text)
            if key is None:
                try:
                    key = load_public_key(text, curve_for("ECDSA-secp256r1-SHA256"))
                except OcmfError:
                    key = False
                self._keys[text] = key
            return key
