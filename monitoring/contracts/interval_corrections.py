"""monitoring.interval_correction and monitoring.interval_dispute (docs/intervals.md, "Corrections
and disputes").

A correction: the operator that reported an interval replaces connectors' entries of one of its
reports, once per connector, while the report's correction window is open. The entries are checked
as a report's are (not their order against later reports), the day rows and the area's load move
from the old figures to the new ones, and the report notes the connectors corrected. A corrected
entry's energy counts as vouched: its register's start is no longer tied to a signed end before it.
A day's peak keeps the highest figure reported. Both the report and its correction stay on the ledger.

A dispute: the regulator disputes what a connector's interval report says, with a reason; it stays on
the ledger beside the report (and is shown with it), it changes no figure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from ledger import definition
from ledger.contracts import NODE, aware_time, register
from core import localtime
from monitoring.contracts.common import only, text
from monitoring.contracts.interval_reports import (
    Figures, MAX_CONNECTORS, _shape, entry_figures,
)
from monitoring.intervals.checks import Refusal, check_interval
from monitoring.intervals.signed import Verifier
from monitoring.intervals.tally import STATES
from monitoring.contracts.interval_reads import exclusions
from monitoring.models import AreaLoad, ConnectorDay, IntervalDispute, MeterReplacement, OpenReport
from monitoring.models.intervals import format_reasons, parse_reasons
from registry.models import Connector, DeviceKey, Pile
from registry.models.keys import KeyPurpose, KeyStatus

CORRECTION = "monitoring.interval_correction"
DISPUTE = "monitoring.interval_dispute"


def _spans(pile, connector_id: int, start, end) -> list:
    outages, maintenance = exclusions(areas=[pile.station.grid_area_id], piles=[pile.pk], start=start, end=end)
    return outages.get(pile.station.grid_area_id, []) + maintenance.get((pile.pk, connector_id), [])


def _move(day: ConnectorDay, old: list, new: Figures) -> None:
    """Take the old figures (as the open report keeps them) out of the day row and put the new in."""
    _, _, _, seconds, excluded, energy, signed_energy, _, auth, started, ended, reasons = old
    for state, before in zip(STATES, seconds):
        name = f"{state}_s"
        setattr(day, name, getattr(day, name) - before + new.seconds[state])
    day.excluded_s += new.excluded - excluded
    day.energy_wh += new.energy - energy
    day.signed_energy_wh += new.signed_energy - signed_energy
    day.peak_w = max(day.peak_w, new.peak)
    day.authorizations += new.auth - auth
    day.sessions_started += new.started - started
    day.sessions_ended += new.ended - ended
    counts = Counter(parse_reasons(day.stop_reasons))
    counts.subtract(reasons)
    counts.update(new.reasons)
    day.stop_reasons = format_reasons({reason: n for reason, n in counts.items() if n > 0})


@register(CORRECTION, signer_kinds=(NODE,), roles={"operator"})
def interval_correction(ctx, tx):
    """Replace connectors' entries of one of the signer's interval reports while it may be corrected."""
    p = tx.payload
    if not isinstance(p, dict) or set(p) != {"report", "connectors"}:
        ctx.reject("malformed: a correction has exactly the keys report, connectors")
    report = OpenReport.objects.filter(tx_id=p["report"]).first() if isinstance(p["report"], str) else None
    if report is None or report.closes_at <= ctx.block_time:
        ctx.reject(f"correction_window_closed: report {p['report']} is not open to corrections (unknown, or its "
                   f"correction window closed)")
    if report.reporter != ctx.signer_id:
        ctx.reject(f"not_operator: report {report.tx_id} is {report.reporter}'s")
    entries = p["connectors"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_CONNECTORS:
        ctx.reject(f"malformed: connectors must be a list of 1 to {MAX_CONNECTORS} entries")
    length = definition.stored().intervals.length_s
    start = report.start
    end = start + dt.timedelta(seconds=length)
    if check_interval(start, end, length):  # the definition cannot change, but say so if it did
        ctx.reject("interval_misaligned: the report's interval is not one of the agreed grid")
    figures = {(row[0], row[1]): row for row in json.loads(report.figures)}
    corrected = set(report.corrected.split())
    verifier = Verifier()
    refusals, accepted = [], []
    seen = set()
    for raw in entries:
        code = raw.get("pile") if isinstance(raw, dict) else None
        connector = raw.get("connector") if isinstance(raw, dict) else None
        if not isinstance(code, str) or not isinstance(connector, int) or isinstance(connector, bool):
            refusals.append(Refusal(str(code or "?"), 0, "malformed", "an entry names its pile and connector"))
            continue
        problem = _shape(raw, length)
        if problem:
            refusals.append(Refusal(code, connector, "malformed", problem))
            continue
        if (code, connector) not in figures:
            refusals.append(Refusal(code, connector, "not_in_report", f"report {report.tx_id} has no such entry"))
            continue
        if f"{code}/{connector}" in corrected or (code, connector) in seen:
            refusals.append(Refusal(code, connector, "already_corrected", "an entry is corrected once"))
            continue
        seen.add((code, connector))
        pile = Pile.objects.select_related("station").get(code=code)
        rated = Connector.objects.filter(pile=pile, connector_id=connector).values_list("max_power_kw", flat=True).first()
        keys = list(DeviceKey.objects.filter(pile=pile, purpose=KeyPurpose.METER, status=KeyStatus.ACTIVE)
                    .order_by("fingerprint").values_list("public_key_hex", flat=True))
        result = entry_figures(raw, pile=pile, rated_kw=rated if rated is not None else pile.rated_power_kw,
                               start=start, end=end, day=localtime.local_day(start), previous=None, keys=keys,
                               verifier=verifier, spans=_spans(pile, connector, start, end),
                               replaced=list(MeterReplacement.objects.filter(
                                   pile=pile, connector_id=connector, at__gt=start, at__lt=end)
                                   .values_list("at", flat=True)))
        if isinstance(result, Refusal):
            refusals.append(result)
        else:
            accepted.append(result)
    if refusals:
        shown = "; ".join(str(r) for r in refusals[:5])
        ctx.reject(f"{len(refusals)} of {len(entries)} entries refused: {shown}")
    for new in accepted:
        old = figures[(new.pile.code, new.connector)]
        day = ConnectorDay.objects.select_related("pile").get(pile=new.pile, connector_id=new.connector,
                                                               day=dt.date.fromisoformat(old[2]))
        _move(day, old, new)
        if day.reported_until == end:  # the connector's latest interval: where its reports stand moves too
            day.state = new.state
            # ... but not the register once a new meter counts from then on (monitoring.meter_replacement).
            replaced = MeterReplacement.objects.filter(pile=new.pile, connector_id=new.connector, at__gte=end).exists()
            if new.register_end is not None and not replaced:
                day.register_wh, day.register_signed = new.register_end, new.signed
        day.height = ctx.block_height
        ctx.save(day)
        load = AreaLoad.objects.select_related("area").get(area_id=new.pile.station.grid_area_id, start=start)
        load.energy_wh += new.energy - old[5]
        load.peak_w += new.peak - old[7]
        load.height = ctx.block_height
        ctx.save(load)
        corrected.add(f"{new.pile.code}/{new.connector}")
    report.corrected = " ".join(sorted(corrected))
    ctx.save(report)


@register(DISPUTE, signer_kinds=(NODE,), roles={"regulator"})
def interval_dispute(ctx, tx):
    """The regulator disputes what a connector's interval report says, with a reason."""
    p = tx.payload
    if not isinstance(p, dict):
        ctx.reject("a dispute is an object")
    only(ctx, p, {"pile", "connector", "start", "reason", "report"})
    pile = Pile.objects.filter(code=p.get("pile")).first()
    if pile is None:
        ctx.reject("unknown pile")
    connector = p.get("connector")
    if not isinstance(connector, int) or isinstance(connector, bool) or not Connector.objects.filter(
            pile=pile, connector_id=connector).exists():
        ctx.reject(f"pile {pile.code} has no such connector")
    start = aware_time(ctx, p.get("start"), "start")
    length = definition.stored().intervals.length_s
    problem = check_interval(start, start + dt.timedelta(seconds=length), length)
    if problem:
        ctx.reject(problem)
    latest = ConnectorDay.objects.filter(pile=pile, connector_id=connector).order_by("-day").first()
    if latest is None or latest.reported_until < start + dt.timedelta(seconds=length):
        ctx.reject(f"connector {connector} of pile {pile.code} has not reported the interval yet")
    report_tx = p.get("report", "")
    if not isinstance(report_tx, str) or len(report_tx) > 64:
        ctx.reject("report must be a transaction id")
    ctx.save(IntervalDispute(
        uid=ctx.derive_uuid("dispute"), pile=pile, connector_id=connector, start=start,
        reason=text(ctx, p, "reason", 500, required=True), disputed_by=ctx.signer_id, report_tx=report_tx,
        height=ctx.block_height))
