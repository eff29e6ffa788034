"""How a closed session enters the totals per (pile, period, band), counted or held with a reason.

`assess` and `session_parts` decide for one session (the first reason that applies, in the order of
docs/settlement.md; its whole Wh per period and band by the split rule). `TotalsDelta` gathers what
a run of closings adds to each EnergyTotal row and writes every row once, at the end of the run.
Closing a period then reads a few rows per pile, not a month of sessions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from core import localtime
from ledger.state.rows import entry_bytes, new_row
from ocmf import parser
from settlement import checks
from settlement.contracts.assessment import facts
from settlement.models import ChargingSession, EnergyTotal
from settlement.tariffs import split_energy


def signed_readings(session: ChargingSession) -> list[tuple[dt.datetime, int]]:
    """(time, Wh since start) from the session's verified OCMF records; none when unverified."""
    if session.signature_ok is not True or not session.signed_data:
        return []
    try:
        records = [parser.parse(r) for r in session.signed_data]
    except ValueError:
        return []
    values = [(rd.time.at, rd.mwh) for rec in records for rd in rec.payload.readings
              if rd.mwh is not None and rd.obis in (None, "1-b:1.8.0", "1-0:1.8.0", "1-0:1.8.1")]
    if not values:
        return []
    first = min(values)[1]
    return [(at, (mwh - first) // 1000) for at, mwh in values]


def assess(session: ChargingSession, *, pile, history, counted_spans) -> str:
    """Why the closed session is held (a reason of settlement.checks), or "" when it counts.
    `counted_spans`: (start, stop) of the sessions already counted on its connector."""
    f = facts(session)
    return checks.assess(f, rated_kw=pile.rated_power_kw, compliance_status=history.status_at(f.started_at),
                         online=True, accepted=counted_spans) or ""


def session_parts(session: ChargingSession, *, tariffs) -> dict[str, int]:
    """Whole Wh per "period/band", in the order the session meets them; bands without energy left out."""
    if not session.energy_wh:
        return {}
    split = split_energy(start=session.started_at, stop=session.stopped_at, energy_wh=session.energy_wh,
                         tariffs=tariffs, tz=localtime.zone(), readings=signed_readings(session))
    return {f"{period}/{band}": wh for (period, band), wh in split.items() if wh}


class TotalsDelta:
    """What a run adds to the totals; `stage` writes each touched row once (run-level writes)."""

    def __init__(self):
        self._add: dict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
        self._piles: dict[int, object] = {}

    def add(self, session: ChargingSession, pile) -> None:
        """A session counts once per period, in the band where its share of the period begins."""
        self._piles[pile.pk] = pile
        periods = set()
        for key, wh in session.parts.items():
            period, band = key.split("/")
            entry = self._add[(pile.pk, period, band, session.held_reason)]
            entry[0] += wh
            if period not in periods:
                periods.add(period)
                entry[1] += 1

    def stage(self, run) -> None:
        if not self._add:
            return
        # Rows are written (and enter the write set) in this order: by pile code, never by the pile's
        # id, which is this node's own.
        keys = sorted(self._add, key=lambda key: (self._piles[key[0]].code, *key[1:]))
        wanted = set(keys)
        found = {}
        # By pile alone, through the unique (pile, period, band, reason) index; with the period as
        # well, the planner may take the (period, pile) index and test every row of the period
        # against the whole list of piles. The exact keys are picked out here.
        for pk, pile_id, period, band, reason, energy_wh, sessions in (
                EnergyTotal.objects.filter(pile_id__any_of=sorted({k[0] for k in keys}))
                .values_list("pk", "pile_id", "period", "band", "reason", "energy_wh", "sessions")):
            if (pile_id, period, band, reason) in wanted:
                found[(pile_id, period, band, reason)] = (pk, energy_wh, sessions)
        for key in keys:
            wh, sessions = self._add[key]
            pile_id, period, band, reason = key
            pile = self._piles[pile_id]
            if key not in found:
                run.stage_insert(new_row(EnergyTotal, pile=pile, period=period, band=band, reason=reason, energy_wh=wh,
                                         sessions=sessions))
                continue
            pk, stored_wh, stored_sessions = found[key]
            row = new_row(EnergyTotal, pk=pk, pile=pile, period=period, band=band, reason=reason,
                          energy_wh=stored_wh, sessions=stored_sessions)
            old = entry_bytes(row)
            row.energy_wh += wh
            row.sessions += sessions
            run.stage_update(row, old=old, fields=("energy_wh", "sessions"))
