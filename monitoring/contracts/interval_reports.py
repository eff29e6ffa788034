"""monitoring.interval_report: an operator's node reports one agreed interval of its piles, per
connector (docs/intervals.md).

Every node checks a report alike (monitoring.intervals.checks, .signed): the interval is one of the
agreed grid and is over at the block's time; the reporter operates every pile; the piles are admitted
and not retired; each connector is registered, listed once, reported in order (no overlap, no
repeat); its seconds add up to the interval; its energy is within its rated power; its register
never runs backwards; a register reading the pile signed verifies against the pile's meter key. A
report that fails any check is rejected whole, its reason naming the code, the pile and the connector
of the first refusals. A large fleet splits an interval into reports of at most MAX_CONNECTORS.

What an accepted report leaves in the state (monitoring.models.intervals): each connector's day
totals (which also say where its reports stand), its area's load in the interval, and the report's
figures while it may be corrected. Reports are the busiest transactions after sessions, so they are applied in runs
(ledger.runs): the whole run reads in a few queries (interval_reads) and writes each row once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
from contextlib import contextmanager
from collections import Counter
from decimal import Decimal

from ledger import definition
from ledger.contracts import NODE, register_run
from ledger.state.rows import entry_bytes, new_row
from core import localtime
from monitoring.contracts.interval_reads import IntervalReads, _start
from monitoring.intervals.checks import Entry, Previous, Refusal, check_entry, check_interval
from monitoring.intervals.signed import Verifier
from monitoring.intervals.tally import STATES
from monitoring.models import AreaLoad, ConnectorDay, OpenReport
from monitoring.models.intervals import CURSOR_FIELDS, DAY_SUMS, MAX_REASONS, format_reasons, parse_reasons
from monitoring.uptime import SECOND, covered, merge
from registry.models.piles import PileStatus

REPORT = "monitoring.interval_report"
MAX_CONNECTORS = 2000
ENTRY_KEYS = frozenset({"pile", "connector", "state", "seconds", "register_start_wh", "register_end_wh", "peak_w",
                        "authorizations", "sessions_started", "sessions_ended", "events", "root", "signed_end"})
OUTAGE_STATES = ("faulted", "unavailable", "offline", "unknown")
ROOT = re.compile(r"^[0-9a-f]{64}$")
REASON = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
MAX_COUNT = 100_000
MAX_WH = 10**15
MAX_RECORD_CHARS = 4000
SHOWN = 5  # refusals named in a rejection's reason
SWITCH_INTERVAL_S = 0.0002
ADMITTED = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _shape(entry, length: int) -> str | None:
    """Why an entry is malformed (its keys and the types of its figures), or None. The seconds and
    registers are checked by check_entry."""
    if set(entry) != ENTRY_KEYS:
        return f"an entry has exactly the keys {', '.join(sorted(ENTRY_KEYS))}"
    if entry["state"] not in STATES:
        return f"state must be one of {', '.join(STATES)}"
    peak = entry["peak_w"]
    if not isinstance(peak, int) or isinstance(peak, bool) or not 0 <= peak <= 10**7:
        return "peak_w must be whole W from 0 to 10 MW"
    for name in ("authorizations", "sessions_started", "events"):
        if not _count(entry[name]):
            return f"{name} must be a whole number from 0 to {MAX_COUNT}"
    ended = entry["sessions_ended"]
    if (not isinstance(ended, dict) or len(ended) > MAX_REASONS
            or not all(isinstance(k, str) and REASON.fullmatch(k) and _count(v) and v > 0 for k, v in ended.items())):
        return (f"sessions_ended must map at most {MAX_REASONS} stop reasons (a letter, then letters, digits or _; "
                f"at most 32) to counts above 0")
    root = entry["root"]
    if entry["events"] == 0 and root != "":
        return "root must be empty: no readings or events"
    if entry["events"] and not (isinstance(root, str) and ROOT.fullmatch(root)):
        return "root must be 64 lowercase hex digits"
    for name in ("register_start_wh", "register_end_wh"):
        value = entry[name]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_WH):
            return f"{name} must be whole Wh from 0 to {MAX_WH}, or null"
    signed = entry["signed_end"]
    if not isinstance(signed, str) or len(signed) > MAX_RECORD_CHARS:
        return f"signed_end must be an OCMF record of at most {MAX_RECORD_CHARS} characters, or empty"
    if signed and entry["register_end_wh"] is None:
        return "a signed register reading needs register_end_wh"
    return None


class Figures:
    """One accepted connector entry, as it enters the totals."""

    __slots__ = ("pile", "connector", "day", "seconds", "excluded", "energy", "signed_energy", "peak", "auth",
                 "started", "ended", "reasons", "state", "register_end", "signed")

    def as_list(self) -> list:
        """The entry as an open report keeps it (docs/intervals.md)."""
        return [self.pile.code, self.connector, self.day.isoformat(), [self.seconds[s] for s in STATES], self.excluded,
                self.energy, self.signed_energy, self.peak, self.auth, self.started, self.ended, self.reasons]


def _refuse(refusals: list, pile, connector, code: str, detail: str) -> None:
    refusals.append(Refusal(str(pile), connector if isinstance(connector, int) else 0, code, detail))


def entry_figures(raw: dict, *, pile, rated_kw, start: dt.datetime, end: dt.datetime, day, previous, keys: list,
                  verifier: Verifier, spans: list, replaced: list) -> Refusal | Figures:
    """The checks of one well-formed entry of a registered connector of the signer's pile, and its
    figures. `previous`: the connector's latest day row (where its reports stand), or None (a
    correction: no order to keep, and its energy counts as vouched); `replaced`: when the connector's
    meter was replaced (monitoring.meter_replacement), at least those inside the interval."""
    code, connector = pile.code, raw["connector"]
    swapped = [at for at in replaced if start < at < end]
    if swapped and (raw["register_start_wh"] is not None or raw["register_end_wh"] is not None):
        return Refusal(code, connector, "meter_replaced", f"the meter was replaced at {swapped[0].isoformat()}, "
                       f"within the interval: two meters' registers make no energy (report them as null)")
    entry = Entry(code, connector, raw["seconds"], raw["register_start_wh"], raw["register_end_wh"])
    before = Previous() if previous is None else Previous(previous.reported_until, previous.register_wh)
    refusal = check_entry(entry, start=start, end=end, rated_kw=Decimal(rated_kw), previous=before)
    if refusal:
        return refusal
    if raw["peak_w"] > Decimal(rated_kw) * 1000:
        return Refusal(code, connector, "power_above_rated", f"peak {raw['peak_w']} W is above {rated_kw} kW")
    signed = False
    if raw["signed_end"]:
        failed = verifier.check(raw["signed_end"], keys=keys, at=end, register_wh=raw["register_end_wh"])
        if failed:
            return Refusal(code, connector, *failed)
        signed = True
    figures = Figures()
    figures.pile, figures.connector, figures.day = pile, connector, day
    figures.seconds = raw["seconds"]
    outage = sum(raw["seconds"][s] for s in OUTAGE_STATES)
    figures.excluded = min(outage, covered(start, end, merge(spans)) // SECOND) if spans and outage else 0
    figures.energy = entry.energy_wh or 0
    # Signed energy: the pile signed the register at both ends of the interval (the start is the end of
    # the connector's previous interval, signed and reported then).
    figures.signed_energy = figures.energy if (
        signed and previous is not None and previous.register_signed and previous.reported_until == start
        and previous.register_wh == raw["register_start_wh"]) else 0
    figures.peak, figures.auth, figures.started = raw["peak_w"], raw["authorizations"], raw["sessions_started"]
    figures.reasons = raw["sessions_ended"]
    figures.ended = sum(figures.reasons.values())
    figures.state, figures.register_end, figures.signed = raw["state"], raw["register_end_wh"], signed
    return figures


def _check(ctx, reads: IntervalReads, verifier: Verifier, length_s: int) -> tuple[dt.datetime, list[Figures]]:
    """Every check of the report; rejects it, or returns its interval's start and figures (nothing
    changed yet)."""
    p = ctx.tx.payload
    if not isinstance(p, dict) or set(p) != {"start", "connectors"}:
        ctx.reject("malformed: a report has exactly the keys start, connectors")
    start = _start(p)
    if start is None:
        ctx.reject("malformed: start must be an ISO 8601 time with its zone")
    end = start + dt.timedelta(seconds=length_s)
    problem = check_interval(start, end, length_s)
    if problem:
        ctx.reject(f"interval_misaligned: {problem}")
    if ctx.block_time < end:
        ctx.reject(f"interval_not_over: the interval ends {end.isoformat()}, after this block's time")
    entries = p["connectors"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_CONNECTORS:
        ctx.reject(f"malformed: connectors must be a list of 1 to {MAX_CONNECTORS} entries")
    day = localtime.local_day(start, reads.zone)
    refusals: list[Refusal] = []
    accepted: list[Figures] = []
    seen = set()
    for raw in entries:
        code = raw.get("pile") if isinstance(raw, dict) else None
        connector = raw.get("connector") if isinstance(raw, dict) else None
        if not isinstance(raw, dict) or not isinstance(code, str) or not isinstance(connector, int) \
                or isinstance(connector, bool):
            _refuse(refusals, code or "?", connector, "malformed", "an entry names its pile (code) and connector (number)")
            continue
        problem = _shape(raw, length_s)
        if problem:
            _refuse(refusals, code, connector, "malformed", problem)
            continue
        if (code, connector) in seen:
            _refuse(refusals, code, connector, "duplicate", "the connector is listed twice")
            continue
        seen.add((code, connector))
        pile = reads.piles.get(code)
        if pile is None:
            _refuse(refusals, code, connector, "unknown_pile", "no such pile is registered")
            continue
        if pile.station.operator.code != ctx.signer_id:
            _refuse(refusals, code, connector, "not_operator", f"{ctx.signer_id} does not operate the pile")
            continue
        if pile.status not in ADMITTED:
            _refuse(refusals, code, connector, "pile_not_admitted", f"the pile is {pile.status}")
            continue
        rated_kw = reads.connectors.get((pile.pk, connector))
        if rated_kw is None:
            _refuse(refusals, code, connector, "unknown_connector", "the pile has no such connector")
            continue
        result = entry_figures(raw, pile=pile, rated_kw=rated_kw, start=start, end=end, day=day,
                               previous=reads.current.get((pile.pk, connector)),
                               keys=reads.meter_keys.get(pile.pk, []), verifier=verifier,
                               spans=reads.exclusion_spans(pile, connector),
                               replaced=reads.replacements.get((pile.pk, connector), []))
        if isinstance(result, Refusal):
            refusals.append(result)
        else:
            accepted.append(result)
    if refusals:
        shown = "; ".join(str(r) for r in refusals[:SHOWN])
        more = f" (and {len(refusals) - SHOWN} more)" if len(refusals) > SHOWN else ""
        ctx.reject(f"{len(refusals)} of {len(entries)} entries refused: {shown}{more}")
    return start, accepted


class IntervalDelta:
    """What a run changes: day rows and area loads, each staged once at the end of the run."""

    def __init__(self, reads: IntervalReads):
        self.reads = reads
        self.touched: dict[int, object] = {}  # id(row) -> row, in the order first touched

    def add(self, ctx, start: dt.datetime, accepted: list[Figures], length_s: int) -> None:
        reads = self.reads
        end = start + dt.timedelta(seconds=length_s)
        height = ctx.block_height
        for f in accepted:
            key = (f.pile.pk, f.connector)
            day = reads.current.get(key)
            if day is None or day.day != f.day:  # the connector's first interval of the day
                previous = day
                day = reads.current[key] = new_row(
                    ConnectorDay, pile=f.pile, connector_id=f.connector, day=f.day, stop_reasons="", height=height,
                    register_wh=previous.register_wh if previous else None,
                    register_signed=previous.register_signed if previous else False)
            day.reported_until, day.state = end, f.state
            if f.register_end is not None:
                day.register_wh, day.register_signed = f.register_end, f.signed
            for state in STATES:
                name = f"{state}_s"
                setattr(day, name, getattr(day, name) + f.seconds[state])
            day.excluded_s += f.excluded
            day.intervals += 1
            day.energy_wh += f.energy
            day.signed_energy_wh += f.signed_energy
            day.peak_w = max(day.peak_w, f.peak)
            day.authorizations += f.auth
            day.sessions_started += f.started
            day.sessions_ended += f.ended
            if f.reasons:
                merged = Counter(parse_reasons(day.stop_reasons))
                merged.update(f.reasons)
                day.stop_reasons = format_reasons(merged)
            day.height = height
            self.touched[id(day)] = day
            area_id = f.pile.station.grid_area_id
            load = reads.loads.get((area_id, start))
            if load is None:
                load = reads.loads[(area_id, start)] = new_row(
                    AreaLoad, area=reads.areas[area_id], start=start, seconds=length_s, height=height)
            load.energy_wh += f.energy
            load.peak_w += f.peak
            load.connectors += 1
            load.height = height
            self.touched[id(load)] = load

    def stage(self, run) -> None:
        old = self.reads.old
        # The write set records run-level rows by (model, public id), whatever the order staged here.
        for row in self.touched.values():
            if row.pk is None:
                run.stage_insert(row)
            else:
                run.stage_update(row, old=old[id(row)], fields=FIELDS[type(row)])
        for report in self.reads.expired:
            run.stage_delete(report, old=entry_bytes(report))


FIELDS = {
    ConnectorDay: (*DAY_SUMS, "peak_w", "stop_reasons", *CURSOR_FIELDS, "height"),
    AreaLoad: ("energy_wh", "peak_w", "connectors", "height"),
}


@register_run(REPORT, signer_kinds=(NODE,), roles={"operator"})
def apply_interval_reports(run):
    """The agreed interval reports of an operator's piles (docs/intervals.md)."""
    rules = definition.stored().intervals
    # The signed readings are proved on a thread of their own (monitoring.intervals.signed), which
    # takes the interpreter's lock back after each signature check: handed over every 0.2 ms instead
    # of every 5 ms, it waits less for this thread's Python work (measured: bench/intervals.py).
    with _short_switch_interval():
        _apply(run, rules)


_switch_lock = threading.Lock()
_switch_users = [0, None]  # how many runs hold the short interval, the interval before the first


@contextmanager
def _short_switch_interval():
    with _switch_lock:
        if _switch_users[0] == 0:
            _switch_users[1] = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        _switch_users[0] += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users[0] -= 1
            if _switch_users[0] == 0:
                sys.setswitchinterval(_switch_users[1])


def _apply(run, rules):
    verifier = Verifier()
    reads = IntervalReads(run, length_s=rules.length_s, verifier=verifier)
    delta = IntervalDelta(reads)
    for ctx in run:
        with run.item(ctx):
            start, accepted = _check(ctx, reads, verifier, rules.length_s)
            if rules.correction_window_s:
                ctx.stage_insert(new_row(
                    OpenReport, tx_id=ctx.tx.id, reporter=ctx.signer_id, start=start,
                    closes_at=start + dt.timedelta(seconds=rules.length_s + rules.correction_window_s),
                    figures=json.dumps([f.as_list() for f in accepted], separators=(",", ":")), corrected=""))
            # Checked and staged: from here on nothing rejects.
            delta.add(ctx, start, accepted, rules.length_s)
    # A run whose reports were all rejected changes nothing, as each applied alone would not.
    if any(ctx.rejected is None for ctx in run):
        delta.stage(run)
