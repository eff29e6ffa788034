"""The entry point for telemetry from piles, whatever brought it (OCPP gateway, REST batches).

    record_status(pile_code=..., connector_id=..., status=..., error_code=..., info=..., timestamp=..., source=...)
    record_statuses_many([{...the same...}, ...])   # a gateway's group commit; each refused alone
    record_meter_values(pile_code=..., connector_id=..., samples=[{"timestamp", "measurand", "value", "unit",
                                                                   "phase", "context"}, ...])

Both check everything first and store all or nothing; bad input raises IngestError (a ValueError)
with a message fit to return to the device. Units are normalised (kWh -> Wh, kW -> W). Storing also
updates the latest state of the pile and connector and runs fault detection; a new fault is
reported to the ledger (signed by the pile's operator's node) and pushed to alert subscribers.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

import ocmf
from monitoring import bulk, conf, detection
from monitoring.live import events as live_events
from monitoring.live import outbox
from monitoring.models import (
    AuthorizationAttempt, ConnectionEvent, ConnectorState, PileState, SignedReading, StatusEvent,
)
from monitoring.services import faults
from monitoring.units import CURRENT, ENERGY_REGISTER, POWER, VOLTAGE, UnitError, normalise
from registry.models import Pile

logger = logging.getLogger("pilechain.monitoring")

MAX_TEXT = {"status": 32, "error_code": 64, "info": 500, "source": 16, "phase": 8, "context": 32}
# A pile's clock may run a little fast; readings far in the future are refused (they would sit
# forever at the head of every time-ordered view).
MAX_CLOCK_SKEW = dt.timedelta(minutes=10)


class IngestError(ValueError):
    """Input refused as a whole; nothing was stored."""


class UnknownPile(IngestError):
    pass


@dataclass(frozen=True)
class Sample:
    ts: dt.datetime
    measurand: str
    value: Decimal
    unit: str
    phase: str
    context: str


def _code_key(code) -> str | None:
    return code.lower() if isinstance(code, str) and code else None


def _piles():
    # Lower(code) is what the registry's unique index covers: the lookup stays an index scan.
    return Pile.objects.select_related("station", "station__operator", "station__grid_area__owner").annotate(
        code_key=Lower("code")
    )


def resolve_pile(pile_code: str) -> Pile:
    if not isinstance(pile_code, str) or not pile_code:
        raise UnknownPile("pile code missing")
    pile = _piles().filter(code_key=pile_code.lower()).first()
    if pile is None:
        raise UnknownPile(f"unknown pile {pile_code!r}")
    if pile.status == "retired":
        raise UnknownPile(f"pile {pile.code} is retired")
    return pile


def resolve_piles(codes: list) -> dict:
    """Known, not retired piles by lower-cased code, in one query."""
    keys = sorted({k for k in map(_code_key, codes) if k})
    return {p.code_key: p for p in _piles().filter(code_key__in=keys).exclude(status="retired")}


def _connector(connector_id) -> int:
    if isinstance(connector_id, bool) or not isinstance(connector_id, int) or not 0 <= connector_id <= 32767:
        raise IngestError(f"connector id {connector_id!r} must be an integer from 0")
    return connector_id


def _text(name: str, value, *, required=False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise IngestError(f"{name} must be a string")
    if required and not value:
        raise IngestError(f"{name} missing")
    if len(value) > MAX_TEXT[name]:
        raise IngestError(f"{name} longer than {MAX_TEXT[name]} characters")
    return value


def _time(value, now: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise IngestError("timestamps must be timezone-aware datetimes")
    if value > now + MAX_CLOCK_SKEW:
        raise IngestError(f"timestamp {value.isoformat()} is in the future")
    return value.astimezone(dt.timezone.utc)


def parse_samples(samples, now: dt.datetime) -> list[Sample]:
    if not isinstance(samples, (list, tuple)) or not samples:
        raise IngestError("samples must be a non-empty list")
    if len(samples) > conf.ingest_max_samples():
        raise IngestError(f"at most {conf.ingest_max_samples()} samples at once")
    parsed = []
    for i, s in enumerate(samples):
        if not isinstance(s, dict):
            raise IngestError(f"sample {i} is not an object")
        unknown = set(s) - {"timestamp", "measurand", "value", "unit", "phase", "context"}
        if unknown:
            raise IngestError(f"sample {i}: unexpected fields {sorted(unknown)}")
        try:
            value, unit = normalise(s.get("measurand"), s.get("value"), s.get("unit"))
        except UnitError as exc:
            raise IngestError(f"sample {i}: {exc}") from None
        try:
            parsed.append(Sample(
                ts=_time(s.get("timestamp"), now), measurand=s["measurand"], value=value, unit=unit,
                phase=_text("phase", s.get("phase")), context=_text("context", s.get("context")),
            ))
        except IngestError as exc:
            raise IngestError(f"sample {i}: {exc}") from None
    return parsed


def record_status(*, pile_code: str, connector_id: int, status: str, error_code: str, info: str,
                  timestamp: dt.datetime, source: str) -> StatusEvent:
    """Store one status change; returns its StatusEvent or raises IngestError."""
    [result] = record_statuses_many([{"pile_code": pile_code, "connector_id": connector_id, "status": status,
                                      "error_code": error_code, "info": info, "timestamp": timestamp,
                                      "source": source}])
    if isinstance(result, IngestError):
        raise result
    return result


def record_statuses_many(messages: list[dict]) -> list:
    """Many status changes at once ({"pile_code", "connector_id", "status", "error_code", "info",
    "timestamp", "source"} each), e.g. what a gateway buffered for a few milliseconds: one transaction.
    Each message is checked on its own; the result list holds, per message, its StatusEvent or the
    IngestError that refused it (a refused message stores nothing and does not hold the others back)."""
    now = timezone.now()
    results, accepted = _check_each(messages, lambda m: (
        parse_status(connector_id=m.get("connector_id"), status=m.get("status"), error_code=m.get("error_code") or "",
                     info=m.get("info") or "", timestamp=m.get("timestamp"), now=now),
        _text("source", m.get("source"), required=True)))
    if accepted:
        stored = store_statuses([(pile, status, source) for _, pile, (status, source) in accepted], now=now)
        for (i, _, _), event in zip(accepted, stored):
            results[i] = event
    return results


def _check_each(messages: list, parse) -> tuple[list, list]:
    """Check each message of a group on its own: the result list with the IngestError of each refused
    message (None elsewhere), and (index, pile, parse(message)) of each accepted one. The piles are
    looked up in one query."""
    results: list = [None] * len(messages)
    piles = resolve_piles([m.get("pile_code") if isinstance(m, dict) else None for m in messages])
    accepted = []
    for i, message in enumerate(messages):
        try:
            if not isinstance(message, dict):
                raise IngestError("a message is an object")
            pile = piles.get(_code_key(message.get("pile_code")))
            if pile is None:
                pile = resolve_pile(message.get("pile_code"))  # raises the precise UnknownPile
            accepted.append((i, pile, parse(message)))
        except IngestError as exc:
            results[i] = exc
    return results, accepted


@dataclass(frozen=True)
class Status:
    connector_id: int
    status: str
    error_code: str
    info: str
    ts: dt.datetime


def parse_status(*, connector_id, status, error_code, info, timestamp, now) -> Status:
    return Status(
        connector_id=_connector(connector_id), status=_text("status", status, required=True),
        error_code=_text("error_code", error_code), info=_text("info", info), ts=_time(timestamp, now),
    )


def store_statuses(items: list[tuple[Pile, Status, str]], *, now: dt.datetime) -> list[StatusEvent]:
    """Store validated status changes ((pile, status, source), in the order they arrived) in one
    transaction (the caller's if any): their history rows, each connector's latest status (newest
    wins; rows locked in a fixed order, so concurrent writers cannot deadlock), their live events,
    the piles' sign of life and the faults they start or end. Returns the history rows."""
    if not items:
        return []
    with transaction.atomic():
        created = StatusEvent.objects.bulk_create([
            StatusEvent(pile=pile, connector_id=st.connector_id, status=st.status, error_code=st.error_code,
                        info=st.info, ts=st.ts, source=source)
            for pile, st, source in items
        ])
        states = bulk.locked_states(sorted({(pile.pk, st.connector_id) for pile, st, _ in items}))
        changed = {}
        for pile, st, _ in items:
            state = states[(pile.pk, st.connector_id)]
            if state.status_at is None or st.ts >= state.status_at:
                state.status, state.error_code, state.status_at = st.status, st.error_code, st.ts
                state.updated_at = now
                changed[state.pk] = state
        bulk.update_states(list(changed.values()))
        outbox.add([live_events.status(pile.code, st.connector_id, st.status, st.error_code, st.ts)
                    for pile, st, _ in items])
        mark_seen_many({pile.pk: pile for pile, _, _ in items}, now)
        ongoing = faults.ongoing(pile_ids=[pile.pk for pile, _, _ in items], kind="status")
        for pile, st, _ in items:
            finding = detection.status_finding(st.status, st.error_code, st.info)
            if finding is not None:
                faults.fault_detected(pile=pile, connector_id=st.connector_id, finding=finding, detected_at=st.ts)
                ongoing.add((pile.pk, st.connector_id))  # a later change in this batch may end it
            elif detection.status_is_normal(st.status, st.error_code) and (pile.pk, st.connector_id) in ongoing:
                faults.fault_cleared(pile=pile, connector_id=st.connector_id, kind="status", at=st.ts)
                ongoing.discard((pile.pk, st.connector_id))
    return created


def record_meter_values(*, pile_code: str, connector_id: int, samples: list[dict], source: str = "ocpp") -> int:
    """Store the samples of one connector; returns how many were stored."""
    [result] = record_meter_values_many([{"pile_code": pile_code, "connector_id": connector_id, "samples": samples}],
                                        source=source)
    if isinstance(result, IngestError):
        raise result
    return result


def record_meter_values_many(messages: list[dict], *, source: str = "ocpp") -> list:
    """Many MeterValues messages at once ({"pile_code", "connector_id", "samples"} each), e.g. what a
    gateway buffered for a few milliseconds: one transaction, one bulk insert. Each message is checked
    on its own; the result list holds, per message, the number of readings stored or the IngestError
    that refused it (a refused message stores nothing and does not hold the others back)."""
    now = timezone.now()
    results, accepted = _check_each(messages, lambda m: (_connector(m.get("connector_id")),
                                                         parse_samples(m.get("samples"), now)))
    if accepted:
        store_batch([(pile, connector_id, samples) for _, pile, (connector_id, samples) in accepted], source=source,
                    now=now)
        for i, _, (_, samples) in accepted:
            results[i] = len(samples)
    return results


def store_samples(*, pile: Pile, connector_id: int, samples: list[Sample], source: str, now: dt.datetime) -> int:
    """Store already validated samples of one connector (inside the caller's transaction if any)."""
    store_batch([(pile, connector_id, samples)], source=source, now=now)
    return len(samples)


def store_batch(groups: list[tuple[Pile, int, list[Sample]]], *, source: str, now: dt.datetime) -> None:
    """Bulk insert validated samples of several connectors, update their latest state (rows locked in
    a fixed order, so concurrent batches cannot deadlock) and report what looks wrong."""
    rows = [(pile.pk, connector_id, s) for pile, connector_id, samples in groups for s in samples]
    keys = sorted({(pile.pk, connector_id) for pile, connector_id, _ in groups})
    with transaction.atomic():
        bulk.insert_readings(rows, source=source, now=now)
        states = bulk.locked_states(keys)
        findings, changed, sample_s = [], {}, outbox.meter_sample_s()
        for pile, connector_id, samples in groups:
            state = states[(pile.pk, connector_id)]
            for finding, ts in _update_state(state, pile, samples):
                findings.append((pile, connector_id, finding, ts))
            changed[state.pk] = (state, pile)
        bulk.update_states(_sampled(changed.values(), sample_s))
        mark_seen_many({pile.pk: pile for pile, _, _ in groups}, now)
        for pile, connector_id, finding, ts in findings:
            faults.fault_detected(pile=pile, connector_id=connector_id, finding=finding, detected_at=ts)


def _sampled(changed, every_s: int) -> list[ConnectorState]:
    """The changed states, after putting on the live path the figures of each connector whose last
    sample went out at least `every_s` seconds ago (the consortium's live.meter_sample_s)."""
    states, sampled = [], []
    for state, pile in changed:
        states.append(state)
        at = max((t for t in (state.power_at, state.energy_at) if t is not None), default=None)
        if at is not None and outbox.meter_due(state.live_sent_at, at, every_s):
            sampled.append(live_events.meter(pile.code, state.connector_id, state.power_w, state.energy_wh, at))
            state.live_sent_at = at
    outbox.add(sampled)
    return states


def _total(samples: list[Sample], measurand: str) -> list[Sample]:
    """Samples of one measurand that are totals (no phase), in time order."""
    return sorted((s for s in samples if s.measurand == measurand and not s.phase), key=lambda s: s.ts)


def _update_state(state: ConnectorState, pile: Pile, samples: list[Sample]) -> list:
    """Move the connector's latest figures forward (the caller saves); the findings it raised."""
    findings = []
    for s in _total(samples, ENERGY_REGISTER):
        if state.energy_at is None or s.ts >= state.energy_at:
            finding = detection.energy_finding(state.energy_wh, s.value)
            if finding:
                findings.append((finding, s.ts))
            state.energy_wh, state.energy_at = s.value, s.ts
    for s in _total(samples, POWER):
        finding = detection.power_finding(s.value, pile.rated_power_kw, conf.power_tolerance())
        if finding:
            findings.append((finding, s.ts))
        if state.power_at is None or s.ts >= state.power_at:
            state.power_w, state.power_at = s.value, s.ts
    for measurand, attr in ((VOLTAGE, "voltage_v"), (CURRENT, "current_a")):
        series = _total(samples, measurand)
        if series:
            setattr(state, attr, series[-1].value)
    state.updated_at = timezone.now()
    # One report per kind per batch is enough: the dedupe keeps the ongoing fault to one.
    seen, unique = set(), []
    for finding, ts in findings:
        if finding.kind not in seen:
            seen.add(finding.kind)
            unique.append((finding, ts))
    return unique


def mark_seen_many(piles: dict, now: dt.datetime) -> None:
    """Any message is a sign of life; a pile that was reported silent is cleared. One UPDATE in the
    common case (known, not silent)."""
    ids = sorted(piles)
    updated = PileState.objects.filter(pile_id__in=ids, silent_reported=False).update(last_seen_at=now)
    if updated == len(ids):
        return
    fresh = set(PileState.objects.filter(pile_id__in=ids, silent_reported=False).values_list("pile_id", flat=True))
    for pile_id in ids:
        if pile_id in fresh:
            continue
        if PileState.objects.filter(pile_id=pile_id, silent_reported=True).update(silent_reported=False, last_seen_at=now):
            faults.fault_cleared(pile=piles[pile_id], connector_id=0, kind="silent", at=now)
        else:
            PileState.objects.get_or_create(pile_id=pile_id, defaults={"last_seen_at": now})


def record_connection(*, pile_code: str, up: bool, at: dt.datetime) -> None:
    """For the gateway: the pile's connection to this central system opened or closed."""
    pile = resolve_pile(pile_code)
    with transaction.atomic():
        state = PileState.objects.select_for_update().filter(pile=pile).first()
        if state is None:
            state = PileState(pile=pile, last_seen_at=at)
        state.online, state.online_at = up, at
        state.last_seen_at = max(state.last_seen_at, at)
        state.save()
        ConnectionEvent.objects.create(pile=pile, up=up, ts=at)
        outbox.add([live_events.connection(pile.code, up, at)])


def record_signed_readings(*, pile_code: str, connector_id: int, records: list[str]) -> int:
    """For the gateway: OCMF records a pile's meter signed outside any transaction. Each that holds one
    energy register reading in whole Wh is kept (its time, its value, the record as signed) for the
    interval reports; the signature is checked by every node when a report carries it. Returns the
    number kept."""
    pile = resolve_pile(pile_code)
    rows = []
    for text in records:
        try:
            record = ocmf.parse(text)
        except ocmf.OcmfError as exc:
            logger.info("signed reading of %s not kept: %s", pile_code, exc)
            continue
        readings = record.payload.readings
        if len(readings) != 1 or readings[0].mwh is None or readings[0].mwh % 1000 or readings[0].transaction:
            continue
        rows.append(SignedReading(pile=pile, connector_id=connector_id, ts=readings[0].time.at,
                                  wh=readings[0].mwh // 1000, record=text))
    SignedReading.objects.bulk_create(rows)
    return len(rows)


def record_authorization(*, pile_code: str, accepted: bool, at: dt.datetime) -> None:
    """For the gateway: a pile asked to authorize a token (counted in the interval reports)."""
    AuthorizationAttempt.objects.create(pile=resolve_pile(pile_code), accepted=accepted, ts=at)


def record_heartbeats(*, pile_codes: list[str]) -> None:
    """For the gateway (its group commit): Heartbeats (or any messages without data) keep the piles
    from going silent. The known piles are marked; a code of no known pile is then refused
    (UnknownPile naming them all)."""
    piles = resolve_piles(pile_codes)
    if piles:
        with transaction.atomic():
            mark_seen_many({p.pk: p for p in piles.values()}, timezone.now())
    unknown = sorted({str(c) for c in pile_codes if _code_key(c) not in piles})
    if unknown:
        raise UnknownPile(f"unknown or retired piles {', '.join(unknown)}")
