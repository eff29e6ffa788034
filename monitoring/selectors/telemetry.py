"""Telemetry reads: latest state, raw series with keyset pagination, aggregates per interval."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Func, IntegerField, Max, Min, Q, Sum

from monitoring.models import ConnectorState, PileState, Reading
from registry.access import PRIVATE
from registry.models import Pile

INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}
MAX_BUCKETS = 10_000


class QueryError(ValueError):
    pass


class EpochBucket(Func):
    """Start of the interval (seconds since the epoch) a time falls in."""

    output_field = IntegerField()

    def __init__(self, expression, seconds: int):
        self.seconds = int(seconds)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(floor(extract(epoch from {sql}) / {self.seconds})::bigint * {self.seconds})", params

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((CAST(strftime('%%s', {sql}) AS INTEGER) / {self.seconds}) * {self.seconds})", params


def latest_states(*, user, pile: str | None = None):
    qs = ConnectorState.objects.restrict(user).select_related("pile").order_by("pile__code", "connector_id")
    if pile:
        qs = qs.filter(pile__code__iexact=pile)
    return qs


def pile_states(*, user, piles) -> dict:
    """The piles' PileState rows (last seen, online) the user may see, by pile id."""
    return {row.pile_id: row for row in PileState.objects.restrict(user).filter(pile__in=piles)}


@dataclass(frozen=True)
class SeriesQuery:
    pile: str
    measurand: str
    start: dt.datetime
    end: dt.datetime
    connector_id: int | None = None
    phase: str = ""


def _series(user, q: SeriesQuery):
    if q.end <= q.start:
        raise QueryError("the end of the range must be after its start")
    pile = Pile.objects.restrict(user, PRIVATE).filter(code__iexact=q.pile).first()
    if pile is None:
        raise QueryError(f"unknown pile {q.pile!r}")
    qs = Reading.objects.restrict(user).filter(pile=pile, measurand=q.measurand, ts__gte=q.start, ts__lt=q.end, phase=q.phase)
    if q.connector_id is not None:
        qs = qs.filter(connector_id=q.connector_id)
    return qs


def encode_cursor(ts: dt.datetime, id: int) -> str:
    return base64.urlsafe_b64encode(f"{ts.isoformat()}|{id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts_text, id_text = raw.split("|")
        ts = dt.datetime.fromisoformat(ts_text)
        if ts.tzinfo is None:
            raise ValueError
        return ts, int(id_text)
    except (ValueError, UnicodeDecodeError):
        raise QueryError("malformed cursor") from None


def readings_page(*, user, query: SeriesQuery, cursor: str | None = None, limit: int = 500):
    """Readings in (ts, id) order after the cursor; (rows, next cursor or None). Keyset pagination:
    stable while rows arrive, and each page costs the same however deep it is."""
    qs = _series(user, query).select_related("pile").order_by("ts", "id")
    if cursor:
        ts, last_id = decode_cursor(cursor)
        qs = qs.filter(Q(ts__gt=ts) | Q(ts=ts, id__gt=last_id))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].ts, rows[-1].id) if more and rows else None)


def iter_readings(*, user, query: SeriesQuery, chunk: int = 5000):
    cursor = None
    while True:
        rows, cursor = readings_page(user=user, query=query, cursor=cursor, limit=chunk)
        yield from rows
        if cursor is None:
            return


def aggregate(*, user, query: SeriesQuery, interval: str) -> list[dict]:
    """One row per interval that has readings: start, count, avg, min, max, sum."""
    if interval not in INTERVALS:
        raise QueryError(f"interval must be one of {', '.join(INTERVALS)}")
    seconds = INTERVALS[interval]
    if (query.end - query.start).total_seconds() / seconds > MAX_BUCKETS:
        raise QueryError(f"at most {MAX_BUCKETS} intervals per query; choose a longer interval")
    rows = (
        _series(user, query).annotate(bucket=EpochBucket(F("ts"), seconds)).values("bucket")
        .annotate(count=Count("id"), avg=Avg("value"), min=Min("value"), max=Max("value"), sum=Sum("value"))
        .order_by("bucket")
    )
    return [
        {"start": dt.datetime.fromtimestamp(r["bucket"], tz=dt.timezone.utc), "count": r["count"], "avg": r["avg"],
         "min": r["min"], "max": r["max"], "sum": r["sum"]}
        for r in rows
    ]
