"""Interval reports: each operator's node computes, from its own telemetry, every agreed interval of
its piles, per connector, and commits it with monitoring.interval_report (MAX_CONNECTORS entries per
transaction). docs/intervals.md describes the figures; here is where each comes from:

- seconds per state: the connector's status events and the pile's connection events, tallied
  (monitoring.intervals.tally) from what held when the interval began;
- the energy register at the interval's start and end: the last register reading (phase total) at
  or before each; energy is their difference;
- peak power: the highest active power reading in the interval;
- sessions started and ended (with their stop reasons): the charging sessions on the ledger;
- authorization attempts: OCPP Authorize names no connector, so a pile's attempts are reported on
  its first connector;
- events and root: the connector's readings and status events of the interval, and their Merkle
  root (monitoring.leaves), so that each stays provable against the report;
- the signed register: where the pile's meter signed its register at the interval's end (a
  clock-aligned signed meter value, kept by monitoring.ingest.record_signed_readings), that record
  goes with the report and its value is the register at the end (at the start too, if signed then).

A connector whose meter was replaced within the interval (monitoring.meter_replacement), or whose
figures would fail the contract's register checks (a meter that jumped, a register
reset without its replacement being declared) is reported without registers (the energy unknown)
and logged, rather than holding up the whole report. An interval is reported once it has been over
for conf.interval_delay_s() (late messages), for every interval not yet reported of the last
conf.interval_catch_up_s(), oldest first; intervals already reported, or in a report of this node
still waiting for its block, are skipped, so running again submits nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from core.errors import Refused
from core.submit import submit
from ledger import definition
from ledger.chain.merkle import merkle_root
from ledger.models import Submission, TxStatus
from monitoring import conf
from monitoring.contracts.interval_reports import MAX_CONNECTORS, REPORT
from monitoring.intervals.checks import Entry, Previous, check_entry
from monitoring.intervals.tally import Change, state_of, tally
from monitoring.leaves import reading_leaf, status_leaf
from monitoring.models import (
    AuthorizationAttempt, ConnectionEvent, ConnectorDay, MeterReplacement, Reading, SignedReading, StatusEvent,
)
from monitoring.models.intervals import MAX_REASONS
from monitoring.services.anchoring import signing_operators
from monitoring.units import ENERGY_REGISTER, POWER
from registry.models import Connector, Pile, PileStatus
from settlement.selectors.sessions import interval_sessions

logger = logging.getLogger("pilechain.monitoring")

REPORTED_STATUSES = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)
UTC = dt.timezone.utc
SECOND = dt.timedelta(seconds=1)


@dataclass
class IntervalRun:
    start: dt.datetime
    submissions: list[Submission] = field(default_factory=list)
    connectors: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (operator, the reason)


def _latest(model, *, at_or_before: bool, moment, **filters):
    """A subquery: the newest row of `model` for the outer connector's pile (and connector), before
    `moment` (or at it)."""
    bound = {"ts__lte" if at_or_before else "ts__lt": moment}
    return model.objects.filter(pile_id=OuterRef("pile_id"), **filters, **bound).order_by("-ts", "-id")


def _wh(value) -> int | None:
    return None if value is None else int(Decimal(value))


def _reason(text: str) -> str:
    """A stop reason as the report carries it (letters, digits and _, starting with a letter)."""
    cleaned = "".join(ch for ch in (text or "") if ch.isascii() and (ch.isalnum() or ch == "_"))[:32]
    return cleaned if cleaned[:1].isalpha() else "Other"


def connector_figures(*, piles: list[Pile], start: dt.datetime, end: dt.datetime) -> list[dict]:
    """The report entries of `piles` for [start, end), per connector, in the piles' order."""
    ids = [pile.pk for pile in piles]
    registers = {}
    rows = (Connector.objects.filter(pile_id__in=ids).order_by("pile_id", "connector_id").annotate(
        status_before=Subquery(_latest(StatusEvent, at_or_before=False, moment=start, connector_id=OuterRef("connector_id"))
                               .values("status")[:1]),
        online_before=Subquery(_latest(ConnectionEvent, at_or_before=False, moment=start).values("up")[:1]),
        register_start=Subquery(_latest(Reading, at_or_before=True, moment=start, connector_id=OuterRef("connector_id"),
                                        measurand=ENERGY_REGISTER, phase="").values("value")[:1]),
        register_end=Subquery(_latest(Reading, at_or_before=True, moment=end, connector_id=OuterRef("connector_id"),
                                      measurand=ENERGY_REGISTER, phase="").values("value")[:1]),
    ).values_list("pile_id", "connector_id", "max_power_kw", "status_before", "online_before", "register_start",
                  "register_end"))
    connectors = defaultdict(list)
    for pile_id, connector_id, max_kw, status_before, online_before, reg_start, reg_end in rows:
        connectors[pile_id].append((connector_id, max_kw, status_before, online_before))
        registers[(pile_id, connector_id)] = (_wh(reg_start), _wh(reg_end))
    statuses = defaultdict(list)
    for event in (StatusEvent.objects.filter(pile_id__in=ids, ts__gte=start, ts__lt=end)
                  .only("id", "pile_id", "connector_id", "status", "error_code", "info", "ts").order_by("ts", "id")):
        statuses[(event.pile_id, event.connector_id)].append(event)
    connections = defaultdict(list)
    for pile_id, up, ts in (ConnectionEvent.objects.filter(pile_id__in=ids, ts__gte=start, ts__lt=end)
                            .order_by("ts", "id").values_list("pile_id", "up", "ts")):
        connections[pile_id].append(Change(ts, online=up))
    readings = defaultdict(list)
    peaks: dict[tuple[int, int], int] = {}
    for reading in (Reading.objects.filter(pile_id__in=ids, ts__gte=start, ts__lt=end)
                    .only("id", "pile_id", "connector_id", "measurand", "phase", "context", "value", "unit", "ts")
                    .order_by("ts", "id").iterator(chunk_size=5000)):
        key = (reading.pile_id, reading.connector_id)
        readings[key].append(reading)
        if reading.measurand == POWER and not reading.phase:
            peaks[key] = max(peaks.get(key, 0), max(int(reading.value), 0))
    attempts = defaultdict(int)
    for pile_id in AuthorizationAttempt.objects.filter(pile_id__in=ids, ts__gte=start, ts__lt=end).values_list(
            "pile_id", flat=True):
        attempts[pile_id] += 1
    # The registers the piles signed at the interval's start and end (clock-aligned, to the second).
    signed: dict[tuple[int, int, dt.datetime], tuple[int, str]] = {}
    for pile_id, connector_id, ts, wh, record in (
            SignedReading.objects.filter(pile_id__in=ids).filter(
                Q(ts__gte=start, ts__lt=start + SECOND) | Q(ts__gte=end, ts__lt=end + SECOND))
            .order_by("ts", "id").values_list("pile_id", "connector_id", "ts", "wh", "record")):
        signed[(pile_id, connector_id, start if ts < end else end)] = (wh, record)
    started, ended = interval_sessions(pile_ids=ids, start=start, end=end)
    previous = {(row.pile_id, row.connector_id): row for row in _latest_days(ids)}
    # Connectors whose meter was replaced within the interval: two meters' registers make no energy.
    replaced = set(MeterReplacement.objects.filter(pile_id__in=ids, at__gt=start, at__lt=end)
                   .values_list("pile_id", "connector_id"))

    entries = []
    for pile in piles:
        for index, (connector_id, max_kw, status_before, online_before) in enumerate(connectors.get(pile.pk, [])):
            key = (pile.pk, connector_id)
            events = statuses.get(key, [])
            changes = [Change(e.ts, status=e.status) for e in events] + connections.get(pile.pk, [])
            seconds = tally(start=start, end=end, status_before=status_before, online_before=online_before,
                            changes=changes)
            last_status = events[-1].status if events else status_before
            online_changes = connections.get(pile.pk, [])
            online_end = online_changes[-1].online if online_changes else online_before
            reg_start, reg_end = registers[key]
            signed_start, signed_end = signed.get((*key, start)), signed.get((*key, end))
            if signed_start:
                reg_start = signed_start[0]
            if signed_end:
                reg_end = signed_end[0]  # what the meter signed is the register
            if reg_start is None:
                reg_end = None  # no register before the interval: its energy is unknown
            rated = max_kw if max_kw is not None else pile.rated_power_kw
            last = previous.get(key)
            refusal = check_entry(Entry(pile.code, connector_id, seconds, reg_start, reg_end), start=start, end=end,
                                  rated_kw=Decimal(rated),
                                  previous=Previous(None, last.register_wh) if last else Previous())
            if refusal is not None:
                logger.warning("interval %s: %s; reported without registers", start.isoformat(), refusal)
                reg_start = reg_end = signed_end = None
            elif key in replaced:
                reg_start = reg_end = signed_end = None
            leaves = [reading_leaf(r, pile.code) for r in readings.get(key, [])] + [status_leaf(e, pile.code) for e in events]
            reasons = dict(sorted((_reason(r), n) for r, n in ended.get(key, {}).items()))
            entries.append({
                "pile": pile.code, "connector": connector_id, "state": state_of(last_status, online_end),
                "seconds": seconds, "register_start_wh": reg_start, "register_end_wh": reg_end,
                "peak_w": min(peaks.get(key, 0), int(Decimal(rated) * 1000)),
                "authorizations": attempts.get(pile.pk, 0) if index == 0 else 0,
                "sessions_started": started.get(key, 0),
                "sessions_ended": dict(list(reasons.items())[:MAX_REASONS]),
                "events": len(leaves), "root": merkle_root(leaves).hex() if leaves else "",
                "signed_end": signed_end[1] if signed_end and reg_end is not None else "",
            })
    return entries


def _latest_days(pile_ids):
    """Each connector's latest day row on the ledger (where its reports stand)."""
    latest = (ConnectorDay.objects.filter(pile_id__in=pile_ids).order_by().values("pile_id", "connector_id")
              .annotate(last=Max("day")))
    wanted = {(row["pile_id"], row["connector_id"], row["last"]) for row in latest}
    return [row for row in ConnectorDay.objects.filter(pile_id__in=pile_ids, day__in={w[2] for w in wanted})
            if (row.pile_id, row.connector_id, row.day) in wanted]


def _grid(moment: dt.datetime, length_s: int) -> dt.datetime:
    """The start of the interval `moment` falls in."""
    utc = moment.astimezone(UTC)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + dt.timedelta(seconds=int((utc - midnight).total_seconds()) // length_s * length_s)


def _in_flight(operator: str) -> set[tuple[str, int, str]]:
    """(pile, connector, start) of this node's reports for `operator` that still wait for their block."""
    waiting = set()
    for body in Submission.objects.filter(type=REPORT, status=TxStatus.PENDING).values_list("body", flat=True):
        payload = body.get("payload") or {}
        if body.get("signer") == f"node:{operator}":
            waiting.update((e.get("pile"), e.get("connector"), payload.get("start")) for e in payload.get("connectors", []))
    return waiting


SIGNATURE_CODES = ("signature_failed", "signed_reading_mismatch")


def _submit(operator: str, start: dt.datetime, entries: list[dict], result: IntervalRun) -> list[dict]:
    """Queue the entries; returns those queued. A part the contract would refuse is halved until the
    refused entries stand alone: one refused for its signed register goes again without it (vouched by
    the operator: a meter key missing from the ledger must not stop the reports); any other is logged
    and left out (the next run tries it again)."""
    payload = {"start": start.isoformat(), "connectors": entries}
    try:
        submission = submit(type=REPORT, payload=payload, institution=operator)
    except Refused as exc:
        if len(entries) == 1:
            if entries[0]["signed_end"] and any(code in exc.reason for code in SIGNATURE_CODES):
                logger.warning("interval %s: the signed register of %s connector %s is refused (%s); reported "
                               "without it", start.isoformat(), entries[0]["pile"], entries[0]["connector"], exc.reason)
                return _submit(operator, start, [{**entries[0], "signed_end": ""}], result)
            logger.warning("interval report of %s for %s refused: %s", operator, start.isoformat(), exc.reason)
            result.refused.append((operator, exc.reason))
            return []
        half = len(entries) // 2
        return _submit(operator, start, entries[:half], result) + _submit(operator, start, entries[half:], result)
    result.submissions.append(submission)
    result.connectors += len(entries)
    return entries


def _report_operator(operator: str, starts: list[dt.datetime], length: int, result_for) -> None:
    """Report each of `starts` (oldest first) for the operator's connectors that still need it: those
    whose reports stand at or before it, and connectors never reported yet from the newest on."""
    piles = list(Pile.objects.select_related("station").filter(station__operator__code=operator,
                                                               status__in=REPORTED_STATUSES).order_by("code"))
    if not piles or not starts:
        return
    keys = list(Connector.objects.filter(pile__in=piles).order_by("pile_id", "connector_id")
                .values_list("pile_id", "connector_id"))
    # What waits for its block first, then what the ledger holds: a block committed in between leaves
    # a report in both, never in neither.
    waiting = _in_flight(operator)
    reported = {(row.pile_id, row.connector_id): row.reported_until for row in _latest_days([p.pk for p in piles])}
    codes = {pile.pk: pile.code for pile in piles}
    by_code = {pile.code: pile.pk for pile in piles}
    blocked: set[tuple[int, int]] = set()  # refused at an earlier start of this run: tried again next run
    for start in starts:
        needed = {key for key in keys
                  if key not in blocked and (reported[key] <= start if key in reported else start == starts[-1])
                  and (codes[key[0]], key[1], start.isoformat()) not in waiting}
        if not needed:
            continue
        wanted = {pile_id for pile_id, _ in needed}
        entries = [entry for entry in connector_figures(piles=[p for p in piles if p.pk in wanted], start=start,
                                                        end=start + dt.timedelta(seconds=length))
                   if (by_code[entry["pile"]], entry["connector"]) in needed]
        result = result_for(start)
        queued = set()
        for part in range(0, len(entries), MAX_CONNECTORS):
            queued.update((by_code[e["pile"]], e["connector"])
                          for e in _submit(operator, start, entries[part:part + MAX_CONNECTORS], result))
        for key in needed:
            if key in queued:
                reported[key] = start + dt.timedelta(seconds=length)
            else:
                blocked.add(key)
        logger.info("interval %s of %s: %s of %s connectors reported", start.isoformat(), operator, len(queued),
                    len(entries))


def report_intervals(*, starts: list[dt.datetime], operators: list[str] | None = None) -> list[IntervalRun]:
    """Report the intervals beginning at `starts` for the operators this node signs for (or the
    named ones)."""
    length = definition.stored().intervals.length_s
    runs: dict[dt.datetime, IntervalRun] = {}

    def result_for(start):
        return runs.setdefault(start, IntervalRun(start=start))

    for operator in operators if operators is not None else signing_operators():
        _report_operator(operator, sorted(starts), length, result_for)
    return [runs[start] for start in sorted(runs)]


def intervals_due(*, now: dt.datetime) -> list[dt.datetime]:
    """The starts of the intervals over for conf.interval_delay_s() within the last
    conf.interval_catch_up_s(), oldest first."""
    length = definition.stored().intervals.length_s
    last = _grid(now - dt.timedelta(seconds=conf.interval_delay_s()), length)  # the first not over long enough
    first = _grid(now - dt.timedelta(seconds=conf.interval_catch_up_s()), length)
    step = dt.timedelta(seconds=length)
    starts, start = [], first
    while start < last:
        starts.append(start)
        start += step
    return starts


def report_due_intervals(*, operators: list[str] | None = None, now: dt.datetime | None = None) -> list[IntervalRun]:
    return report_intervals(starts=intervals_due(now=now or timezone.now()), operators=operators)
