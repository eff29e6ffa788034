"""Checking a session's OCMF records against the meter keys registered for its pile. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from gateway import ocmf

MAX_RECORDS = 20


@dataclass(frozen=True)
class SignedCheck:
    ok: bool | None  # None: the session carries no signed data
    detail: str
    energy_wh: int | None


def check_records(records: list[str], meter_keys: list[str]) -> SignedCheck:
    """Every record must verify with one registered meter key; then the OCMF session checks apply.

    `meter_keys`: the pile's active meter keys (hex), in a fixed order so every node reports alike.
    """
    if not records:
        return SignedCheck(None, "", None)
    if not meter_keys:
        return SignedCheck(False, "no meter key is registered for this pile", None)
    failures = []
    for key in meter_keys:
        results = [ocmf.verify(record, key) for record in records]
        if all(results):
            check = ocmf.check_session(records, key)
            if check.ok:
                return SignedCheck(True, "", ocmf.to_wh(check.energy_mwh, "floor"))
            problems = "; ".join(p.detail for p in check.problems)
            # Authentic but not a complete session (e.g. only a begin record): kept, energy unknown.
            return SignedCheck(True, problems[:500], None)
        bad = next(r for r in results if not r)
        failures.append(f"{bad.reason}: {bad.detail}")
    return SignedCheck(False, ("; ".join(failures))[:500], None)
