"""Checking a session's OCMF records against the meter keys registered for its pile. Pure."""

from __future__ import annotations

from dataclasses import dataclass

import ocmf

MAX_RECORDS = 20


@dataclass(frozen=True)
class SignedCheck:
    ok: bool | None  # None: the session carries no signed data
    detail: str
    energy_wh: int | None


def check_records(records: list[str], meter_keys: list[str]) -> SignedCheck:
    """Every record must verify with one registered meter key; then the OCMF session checks apply.

    `meter_keys`: the pile's active meter keys (hex), in a fixed order so every node reports alike.
    The detail is hashed state, so it holds stable codes only (the OCMF module's reasons and problem
    codes, with the record's index), never an exception's text: messages from `cryptography`, json or
    datetime change between versions, and two nodes would hash different bytes.
    """
    if not records:
        return SignedCheck(None, "", None)
    if not meter_keys:
        return SignedCheck(False, "no_meter_key", None)
    failures = []
    for key in meter_keys:
        results = [ocmf.verify(record, key) for record in records]
        if all(results):
            check = ocmf.check_session(records, key)
            if check.ok:
                return SignedCheck(True, "", ocmf.to_wh(check.energy_mwh, "floor"))
            # Authentic but not a complete session (e.g. only a begin record): kept, energy unknown.
            return SignedCheck(True, "; ".join(_problem(p) for p in check.problems)[:500], None)
        index, bad = next((i, r) for i, r in enumerate(results) if not r)
        failures.append(f"record {index}: {bad.reason.value}")
    return SignedCheck(False, "; ".join(failures)[:500], None)


def _problem(problem: ocmf.Problem) -> str:
    return problem.code if problem.record is None else f"record {problem.record}: {problem.code}"
