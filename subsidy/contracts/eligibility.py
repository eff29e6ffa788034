"""What a claim may count, per pile and period, from ledger rows only (deterministic, for the contract).

The session-level checks ran once, when each session closed (settlement.contracts.totals): the pile's counted
energy in the period is in its EnergyTotal rows, and the sessions held, each with its reason, are the
few whose `held_reason` is set. On top of those, the pile-level conditions of a subsidy:

- `never_online`: no availability report on the ledger shows the pile up in the period (monitoring's
  daily reports); its sessions are held, but for those already held for a bad signature or a
  contradiction, which say more;
- `not_public`: the per-kWh operating subsidy is for public piles only;
- `availability_below_minimum`: the pile's availability over the period is below the policy's: its
  reported up time over the whole period's connector-seconds less the excused outages, where a day
  without a report counts as down (an operator cannot leave its bad days out).

A month of 10,000 piles is a few queries: the totals, the held sessions, the availability reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count

from core import localtime
from monitoring.contracts.reads import NO_REPORT, interval_uptime, reported_totals
from monitoring.uptime import ratio
from registry.models import Connector

from settlement import checks
from settlement.models import ChargingSession, EnergyTotal, SessionStatus

NEVER_ONLINE = checks.NEVER_ONLINE
# Held for these, a session keeps its reason even on a pile that was never online.
STRONGER_THAN_OFFLINE = (checks.SIGNATURE_FAILED, checks.DISPUTED)
USUAL_DAY_S = 86400


@dataclass
class PileFigures:
    sessions: int = 0
    counted_wh: int = 0
    held: list = field(default_factory=list)  # (session uid, reason, Wh in the period), in start order
    availability: Decimal | None = None
    online: bool = False


def _wh_in(parts: dict, period: str) -> int:
    prefix = period + "/"
    return sum(wh for key, wh in parts.items() if key.startswith(prefix))


def period_figures(piles: list, period: str, formula: str = "daily_reports") -> dict[int, PileFigures]:
    """Per pile id: counted sessions and Wh, held sessions, availability by the policy's `formula`;
    ordered reads only."""
    tz = localtime.zone()
    start, end = localtime.period_bounds(period, tz)
    ids = [pile.pk for pile in piles]
    figures = {pile_id: PileFigures() for pile_id in ids}
    # The period's counted rows, picked out by pile here: a claim names most of an operator's piles,
    # and a list of thousands tested against every row of the period costs more than the rows.
    for pile_id, wh, sessions in (EnergyTotal.objects.filter(period=period, reason="")
                                  .order_by("pile_id", "band").values_list("pile_id", "energy_wh", "sessions")):
        if pile_id in figures:
            figures[pile_id].counted_wh += wh
            figures[pile_id].sessions += sessions
    # By the stop only (the index on pile and stop time); the start is checked here.
    held = (ChargingSession.objects.filter(pile_id__any_of=ids, stopped_at__gt=start)
            .exclude(held_reason="").order_by("pile_id", "started_at", "uid")
            .values_list("pile_id", "uid", "held_reason", "parts", "started_at"))
    for pile_id, uid, reason, parts, started_at in held:
        if started_at >= end:
            continue
        wh = _wh_in(parts, period)
        if wh or (not parts and start <= started_at < end):
            figures[pile_id].held.append((str(uid), reason, wh))
    first_day = start.astimezone(tz).date()
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    # Each day's length computed, not assumed: a day a daylight-saving zone changes its clocks has
    # 23 or 25 hours, and a day without a report counts as down for its own length.
    days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    lengths = {day: localtime.day_length_s(day, tz) for day in days}
    period_s = sum(lengths.values())
    # The few days of another length than the usual, and which piles reported them: a report counts
    # its own day's length; every other reported day is a usual one.
    odd_days = {day: length for day, length in lengths.items() if length != USUAL_DAY_S}
    odd_reported = {day: reported_totals(piles=ids, start_day=day, end_day=day) for day in odd_days}
    if formula == "intervals":
        # The agreed intervals: what the regulator's page shows for the same pile and period.
        for pile_id, figures_ in interval_uptime(piles=ids, start_day=first_day, end_day=last_day).items():
            figures[pile_id].availability = figures_.ratio
            figures[pile_id].online = figures_.up > 0
        return figures
    connectors = dict(Connector.objects.filter(pile_id__any_of=ids).values("pile_id").annotate(n=Count("id"))
                      .order_by("pile_id").values_list("pile_id", "n"))
    reported = reported_totals(piles=ids, start_day=first_day, end_day=last_day)
    for pile_id in ids:
        totals = reported.get(pile_id, NO_REPORT)
        reported_s = totals.days * USUAL_DAY_S + sum(length - USUAL_DAY_S for day, length in odd_days.items()
                                                     if pile_id in odd_reported[day])
        missing = (period_s - reported_s) * connectors.get(pile_id, 0)
        figures[pile_id].availability = ratio(up=totals.up_seconds, seconds=totals.seconds + missing,
                                              excused=totals.excused_seconds)
        figures[pile_id].online = totals.up_seconds > 0
    return figures


def offline_sessions(pile, period: str) -> list[tuple[str, str, int]]:
    """Every session of a pile that was never online with energy in the period, held as never_online
    unless its own reason says more (in start order)."""
    start, end = localtime.period_bounds(period)
    rows = (ChargingSession.objects.filter(pile=pile, stopped_at__gt=start)
            .exclude(status=SessionStatus.OPEN).order_by("started_at", "uid")
            .values_list("uid", "held_reason", "parts", "started_at"))
    held = []
    for uid, reason, parts, started_at in rows:
        if started_at >= end:
            continue
        wh = _wh_in(parts, period)
        if wh or (not parts and start <= started_at < end):
            held.append((str(uid), reason if reason in STRONGER_THAN_OFFLINE else NEVER_ONLINE, wh))
    return held
