"""The totals per (pile, period, band): each closed session is added once, counted or held with a
reason, by the contract that closes it (settlement.contracts.session_close calls `record_session`).

Closing a period then reads a few rows per pile, not a month of sessions.
"""

from __future__ import annotations

import datetime as dt


from settlement import checks
from settlement.assessment import ComplianceHistory, facts, local_tz
from settlement.models import ChargingSession, EnergyTotal, SessionCharge, Tariff
from settlement.tariffs import build_tariff, split_energy

HELD_BAND = "held"


def tariffs_of(area) -> list:
    return [build_tariff(valid_from=t.valid_from, windows=t.windows, prices=t.prices)
            for t in Tariff.objects.filter(area=area).order_by("valid_from", "height")]


def signed_readings(session: ChargingSession) -> list[tuple[dt.datetime, int]]:
    """(time, Wh since start) from the session's verified OCMF records; none when unverified."""
    if session.signature_ok is not True or not session.signed_data:
        return []
    from gateway.ocmf import parser

    points = []
    try:
        records = [parser.parse(r) for r in session.signed_data]
    except ValueError:
        return []
    values = [(rd.time.at, rd.mwh) for rec in records for rd in rec.payload.readings
              if rd.mwh is not None and rd.obis in (None, "1-b:1.8.0", "1-0:1.8.0", "1-0:1.8.1")]
    if not values:
        return []
    first = min(values)[1]
    for at, mwh in values:
        points.append((at, (mwh - first) // 1000))
    return points


def record_session(ctx, session: ChargingSession, *, pile=None, tariffs=None, history=None) -> SessionCharge:
    """Add a closed session to the totals. `pile`: the session's pile as the caller already loaded it."""
    if pile is not None:
        session.pile = pile
    pile = session.pile
    f = facts(session)
    if tariffs is None:
        tariffs = tariffs_of(pile.station.grid_area_id)
    if history is None:
        history = ComplianceHistory(pile, height=ctx.block_height)
    reason = checks.signature(f) or checks.disputed(f) or checks.compliance(history.status_at(f.started_at))
    if not reason and f.energy_wh:
        overlap = SessionCharge.objects.filter(
            session__pile=pile, session__connector_id=f.connector, reason="",
            session__started_at__lt=f.stopped_at, session__stopped_at__gt=f.started_at,
        ).exists()
        reason = ((checks.OVERLAPPING if overlap else None) or checks.power_above_rated(f, pile.rated_power_kw)
                  or checks.energy_above_meter(f))
    parts = {}
    if f.energy_wh:
        split = split_energy(start=f.started_at, stop=f.stopped_at, energy_wh=f.energy_wh, tariffs=tariffs,
                             tz=local_tz(), readings=signed_readings(session))
        parts = {f"{period}/{band}": wh for (period, band), wh in sorted(split.items())}
    charge = SessionCharge(session=session, reason=reason or "", parts=parts, height=ctx.block_height)
    ctx.save(charge)
    for key, wh in parts.items():
        period, band = key.split("/")
        _add(ctx, pile, period, band, reason or "", wh)
    return charge


def _add(ctx, pile, period, band, reason, wh):
    total = EnergyTotal.objects.filter(pile=pile, period=period, band=band, reason=reason).first()
    if total is None:
        total = EnergyTotal(pile=pile, period=period, band=band, reason=reason, energy_wh=0, sessions=0)
    total.energy_wh += wh
    total.sessions += 1
    ctx.save(total)
