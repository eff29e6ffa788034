"""Checks that decide whether a charging session's signed readings may be settled.

A session is one or more OCMF records (one record with begin and end readings, or a begin record,
an end record and any in between). `check_session` verifies every signature and then the rules the
OCMF specification gives for verifying a transaction: a begin and an end, unbroken pagination, one
source, no error states. It never raises for bad data; a session with any problem is not settleable
and `energy_mwh` refuses to answer, so a failed session cannot be settled by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .crypto import verify
from .errors import OcmfError
from .model import END_CODES, MeterStatus, Reading, Record, TransactionCode
from .parser import parse
from .units import Rounding, to_wh


@dataclass(frozen=True)
class Problem:
    code: str  # stable identifier, e.g. "signature", "pagination_gap", "error_flag"
    detail: str
    record: int | None = None  # index into the records given, when the problem is in one record


class NotSettleable(Exception):
    """Asked for the energy of a session that failed its checks."""


@dataclass(frozen=True)
class SessionCheck:
    records: tuple[Record | None, ...]  # parsed records, None where a record could not be parsed
    problems: tuple[Problem, ...]
    begin: Reading | None
    end: Reading | None
    claimed_energy_mwh: int | None  # end - begin as the readings say, for display even when failed

    @property
    def ok(self) -> bool:
        return not self.problems and self.claimed_energy_mwh is not None

    @property
    def energy_mwh(self) -> int:
        if not self.ok:
            raise NotSettleable("; ".join(p.detail for p in self.problems) or "no energy")
        return self.claimed_energy_mwh  # type: ignore[return-value]

    def energy_wh(self, rounding: Rounding = "exact") -> int:
        """Whole Wh. The difference is rounded once, never the two readings separately."""
        return to_wh(self.energy_mwh, rounding)


def check_session(records: Sequence[str | bytes | Record], public_key) -> SessionCheck:
    problems: list[Problem] = []
    parsed: list[Record | None] = []
    if not records:
        problems.append(Problem("no_records", "the session has no signed records"))
    for index, item in enumerate(records):
        result = verify(item, public_key)
        if not result:
            problems.append(Problem("signature", f"record {index}: {result.reason}: {result.detail}", index))
        try:
            parsed.append(item if isinstance(item, Record) else parse(item))
        except OcmfError as exc:
            parsed.append(None)
            problems.append(Problem("malformed", f"record {index}: {exc}", index))
    good = [(i, r) for i, r in enumerate(parsed) if r is not None]
    problems += _same_source(good) + _pagination(good)
    readings = [(i, reading) for i, r in good for reading in r.payload.readings]
    problems += _reading_states(readings)
    begin, end, more = _begin_end(readings)
    problems += more
    energy = end.mwh - begin.mwh if begin and end else None
    return SessionCheck(tuple(parsed), tuple(problems), begin, end, energy)


def _same_source(good: list[tuple[int, Record]]) -> list[Problem]:
    # All records of a transaction must come from the same signing component (serial numbers) and
    # carry the same user identification.
    problems = []
    for field, code in (
        (lambda p: (p.gateway_serial, p.meter_serial), "source_mismatch"),
        (lambda p: (p.identification_type, p.identification_data), "identification_mismatch"),
    ):
        seen = {field(r.payload) for _, r in good}
        if len(seen) > 1:
            problems.append(Problem(code, f"records disagree: {sorted(map(str, seen))}"))
    return problems


def _pagination(good: list[tuple[int, Record]]) -> list[Problem]:
    # Transaction records count up by exactly one: a gap means a record was removed or withheld.
    problems = []
    previous = None
    for index, record in good:
        page = record.payload.pagination
        if page.context != "T":
            problems.append(Problem("pagination_context", f"record {index}: not paginated T", index))
        elif previous is not None and page.counter != previous + 1:
            problems.append(
                Problem("pagination_gap", f"record {index}: T{page.counter} follows T{previous}", index)
            )
        previous = page.counter if page.context == "T" else previous
    return problems


def _reading_states(readings: list[tuple[int, Reading]]) -> list[Problem]:
    problems = []
    last_time = None
    for index, r in readings:
        if r.error_flags:
            problems.append(Problem("error_flag", f"record {index}: error flags {r.error_flags!r}", index))
        if r.status is not MeterStatus.GOOD:
            problems.append(Problem("meter_status", f"record {index}: meter status {r.status.name}", index))
        if r.transaction is TransactionCode.EXCEPTION:
            problems.append(Problem("exception", f"record {index}: reading marked X (error)", index))
        if r.transaction is None:
            problems.append(Problem("no_transaction", f"record {index}: reading without transaction", index))
        if last_time is not None and r.time.at < last_time:
            problems.append(Problem("time_not_monotonic", f"record {index}: time goes backwards", index))
        last_time = r.time.at
    return problems


def _begin_end(readings: list[tuple[int, Reading]]) -> tuple[Reading | None, Reading | None, list[Problem]]:
    begins = [(i, r) for i, r in readings if r.transaction is TransactionCode.BEGIN]
    if len(begins) != 1:
        code = "no_begin" if not begins else "multiple_begin"
        return None, None, [Problem(code, f"{len(begins)} readings marked B (begin), need one")]
    begin = begins[0][1]
    if begin.mwh is None:
        return None, None, [Problem("begin_not_energy", "the begin reading has no energy value")]
    # The energy register is the begin reading's OBIS id; readings of other quantities (KEBA adds a
    # "1-b:1.9.0" session register, some meters a duration) are ignored for the energy.
    register = [(i, r) for i, r in readings if r.obis == begin.obis and r.mwh is not None]
    problems = []
    if register[0][1] is not begin:
        problems.append(Problem("begin_not_first", "a reading of the energy register precedes the begin"))
    end_index, end = register[-1]
    if end.transaction not in END_CODES:
        problems.append(Problem("no_end", "the energy register's last reading is not an end", end_index))
        end = None
    for (_, a), (index, b) in zip(register, register[1:]):
        if b.mwh < a.mwh:
            problems.append(Problem("not_monotonic", f"record {index}: energy goes backwards", index))
    return begin, end, problems
