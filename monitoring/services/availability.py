"""Daily availability reports: each operator's node computes, from its own status telemetry and the
grid outages flagged on the ledger, a day's connector-seconds per pile and commits them with
monitoring.availability_report, 1,000 piles per transaction, once per (pile, day).

A pile is reported when it is active or out of service and was commissioned by that day (its status
is read when the report is made, not as it was that day). Piles already reported, or in a report of
this node still waiting for its block, are skipped, so running again submits nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from core import localtime
from core.errors import Refused
from core.submit import submit
from ledger.chain.merkle import merkle_root
from ledger.models import Submission, TxStatus
from monitoring import conf
from monitoring.contracts.availability_reports import MAX_PILES, REPORT
from monitoring.leaves import status_leaf
from monitoring.models import AvailabilityDay, GridOutage, StatusEvent
from monitoring.services.anchoring import signing_operators
from monitoring.uptime import ZERO, compute_seconds
from registry.models import Connector, Pile, PileStatus

logger = logging.getLogger("pilechain.monitoring")

REPORTED_STATUSES = (PileStatus.ACTIVE, PileStatus.OUT_OF_SERVICE)


class DayNotOver(ValueError):
    pass


@dataclass
class DayReport:
    day: dt.date
    submissions: list[Submission] = field(default_factory=list)
    piles: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (operator, the contract's reason)


def pile_figures(*, piles: list[Pile], day: dt.date) -> list[dict]:
    """The report entries of `piles` (with their stations loaded) for `day`, in the piles' order:
    a query for the connectors with the status each had when the day began, one for the day's
    status events, one for the flagged outages."""
    start, end = localtime.day_bounds(day)
    ids = [pile.pk for pile in piles]
    before = (StatusEvent.objects.filter(pile_id=OuterRef("pile_id"), connector_id=OuterRef("connector_id"), ts__lt=start)
              .order_by("-ts", "-id").values("status")[:1])
    connectors: dict[int, list[tuple[int, str | None]]] = {}
    for pile_id, connector_id, status in (
        Connector.objects.filter(pile_id__in=ids).annotate(before=Subquery(before))
        .order_by("pile_id", "connector_id").values_list("pile_id", "connector_id", "before")
    ):
        connectors.setdefault(pile_id, []).append((connector_id, status))
    events: dict[int, list[StatusEvent]] = {}
    for event in (StatusEvent.objects.filter(pile_id__in=ids, ts__gte=start, ts__lt=end)
                  .only("id", "pile_id", "connector_id", "status", "error_code", "info", "ts")
                  .order_by("pile_id", "ts", "id").iterator(chunk_size=5000)):
        events.setdefault(event.pile_id, []).append(event)
    outages: dict[int, list] = {}
    for area_id, starts_at, ends_at in (
        GridOutage.objects.filter(area_id__in={pile.station.grid_area_id for pile in piles}, starts_at__lt=end, ends_at__gt=start)
        .order_by("area_id", "starts_at", "uid").values_list("area_id", "starts_at", "ends_at")
    ):
        outages.setdefault(area_id, []).append((starts_at, ends_at))

    entries = []
    for pile in piles:
        pile_events = events.get(pile.pk, [])
        total = ZERO
        for connector_id, status in connectors.get(pile.pk, []):
            total += compute_seconds(
                start=start, end=end, before=status,
                changes=[(e.ts, e.status) for e in pile_events if e.connector_id == connector_id],
                outages=outages.get(pile.station.grid_area_id, []),
            )
        root = merkle_root([status_leaf(e, pile.code) for e in pile_events]).hex() if pile_events else ""
        entries.append({
            "pile": pile.code, "connectors": len(connectors.get(pile.pk, [])), "seconds": total.seconds,
            "up_seconds": total.up, "down_seconds": total.down, "excused_seconds": total.excused,
            "unknown_seconds": total.unknown, "root": root, "events": len(pile_events),
        })
    return entries


def _in_flight(operator: str, day: dt.date) -> set[str]:
    """Pile codes in this node's reports for the day that still wait for their block."""
    codes = set()
    for body in Submission.objects.filter(type=REPORT, status=TxStatus.PENDING).values_list("body", flat=True):
        payload = body.get("payload") or {}
        if body.get("signer") == f"node:{operator}" and payload.get("day") == day.isoformat():
            codes.update(entry.get("pile") for entry in payload.get("piles", []))
    return codes


def piles_to_report(*, operator: str, day: dt.date) -> list[Pile]:
    piles = (Pile.objects.select_related("station").filter(station__operator__code=operator, status__in=REPORTED_STATUSES)
             .filter(Q(commissioned_on__isnull=True) | Q(commissioned_on__lte=day)).order_by("code"))
    done = set(AvailabilityDay.objects.filter(pile__station__operator__code=operator, day=day).values_list("pile_id", flat=True))
    waiting = _in_flight(operator, day)
    return [pile for pile in piles if pile.pk not in done and pile.code not in waiting]


def availability_report_day(*, day: dt.date, operators: list[str] | None = None, now: dt.datetime | None = None) -> DayReport:
    """Report `day` for every pile not yet reported of the operators this node signs for (or the
    named ones). Raises DayNotOver for a day that has not ended yet."""
    now = now or timezone.now()
    _, end = localtime.day_bounds(day)
    if now < end:
        raise DayNotOver(f"{day} is not over yet (it ends {end.isoformat()})")
    result = DayReport(day=day)
    for operator in operators if operators is not None else signing_operators():
        piles = piles_to_report(operator=operator, day=day)
        for start in range(0, len(piles), MAX_PILES):
            chunk = piles[start:start + MAX_PILES]
            payload = {"day": day.isoformat(), "piles": pile_figures(piles=chunk, day=day)}
            try:
                submission = submit(type=REPORT, payload=payload, institution=operator)
            except Refused as exc:
                # Nothing of this chunk is queued; the next run computes it again.
                logger.warning("availability report of %s for %s refused: %s", operator, day, exc.reason)
                result.refused.append((operator, exc.reason))
                continue
            result.submissions.append(submission)
            result.piles += len(chunk)
            logger.info("availability of %s piles of %s for %s in %s", len(chunk), operator, day, submission.tx_id[:12])
    return result


def days_due(*, now: dt.datetime) -> list[dt.date]:
    """Yesterday and the days before it (conf: catch-up days) that have been over long enough, oldest first."""
    latest = localtime.yesterday(now)
    due = []
    for back in range(conf.availability_catch_up_days() - 1, -1, -1):
        day = latest - dt.timedelta(days=back)
        if localtime.day_bounds(day)[1] + dt.timedelta(seconds=conf.availability_delay_s()) <= now:
            due.append(day)
    return due


def report_due_days(*, operators: list[str] | None = None, now: dt.datetime | None = None) -> list[DayReport]:
    now = now or timezone.now()
    return [availability_report_day(day=day, operators=operators, now=now) for day in days_due(now=now)]
