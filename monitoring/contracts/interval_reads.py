"""What a run of interval reports reads, in a few queries for the whole run (monitoring.contracts.
interval_reports): the piles and their connectors, each connector's latest day row (where its
reports stand), the meter keys of the piles that signed, the exclusions (grid outages, planned
maintenance) and the areas' load rows. Rows are kept here as the run changes them, so a later report
of the run sees what an earlier one changed; `old` keeps each stored row's entry as loaded, for the
write set. Meter replacements inside the run's intervals are read too (their intervals carry no
registers)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from core import localtime
from ledger.state.rows import entry_bytes, stored_rows
from django.db.models import Max

from monitoring.models import AreaLoad, ConnectorDay, GridOutage, MaintenanceWindow, MeterReplacement, OpenReport
from monitoring.uptime import floor_second
from registry.models import Connector, DeviceKey, Pile, Station
from registry.models.keys import KeyPurpose, KeyStatus


def _entries(payload) -> list:
    entries = payload.get("connectors") if isinstance(payload, dict) else None
    return entries if isinstance(entries, list) else []


FIRST_YEAR, LAST_YEAR = 2000, 2999  # a report's interval is in these years (no date arithmetic overflows)


def _start(payload) -> dt.datetime | None:
    try:
        start = dt.datetime.fromisoformat(payload["start"])
        start = start.astimezone(dt.timezone.utc) if start.tzinfo is not None else None
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return start if start is not None and FIRST_YEAR <= start.year <= LAST_YEAR else None


def exclusions(*, areas, piles, start: dt.datetime, end: dt.datetime) -> tuple[dict, dict]:
    """The agreed exclusions overlapping [start, end), times taken down to the second: per area id its
    grid outages, per (pile id, connector id) its planned maintenance. Two queries."""
    outages: dict[int, list] = defaultdict(list)
    for area_id, starts_at, ends_at in (GridOutage.objects.filter(area_id__in=areas, starts_at__lt=end, ends_at__gt=start)
                                        .order_by("area_id", "starts_at", "uid")
                                        .values_list("area_id", "starts_at", "ends_at")):
        outages[area_id].append((floor_second(starts_at), floor_second(ends_at)))
    maintenance: dict[tuple[int, int], list] = defaultdict(list)
    for pile_id, connector_id, starts_at, ends_at in (
            MaintenanceWindow.objects.filter(pile_id__any_of=sorted(piles), starts_at__lt=end, ends_at__gt=start)
            .order_by("pile_id", "connector_id", "starts_at", "uid")
            .values_list("pile_id", "connector_id", "starts_at", "ends_at")):
        maintenance[(pile_id, connector_id)].append((floor_second(starts_at), floor_second(ends_at)))
    return outages, maintenance


class IntervalReads:
    def __init__(self, run, *, length_s: int, verifier):
        self.zone = localtime.zone()
        self.length = dt.timedelta(seconds=length_s)
        payloads = [ctx.tx.payload for ctx in run]
        codes, signed = set(), set()
        starts = set()
        for payload in payloads:
            start = _start(payload)
            if start is not None:
                starts.add(start)
            for entry in _entries(payload):
                if isinstance(entry, dict) and isinstance(entry.get("pile"), str):
                    codes.add(entry["pile"])
                    if entry.get("signed_end"):
                        signed.add(entry["pile"])
        # The piles, then their stations once each (select_related would make a station, an operator
        # and an area object per pile).
        piles = Pile.objects.filter(code__any_of=sorted(codes))
        stations = Station.objects.select_related("operator", "grid_area").in_bulk(
            sorted(set(piles.values_list("station_id", flat=True))))
        self.piles: dict[str, Pile] = {pile.code: pile for pile in stored_rows(piles, related={"station": stations})}
        by_id = {pile.pk: pile for pile in self.piles.values()}
        ids = sorted(by_id)
        self.meter_keys: dict[int, list[str]] = defaultdict(list)
        signed_ids = sorted(self.piles[code].pk for code in signed if code in self.piles)
        for pile_id, key in (DeviceKey.objects.filter(pile_id__any_of=signed_ids, purpose=KeyPurpose.METER,
                                                      status=KeyStatus.ACTIVE)
                             .order_by("pile_id", "fingerprint").values_list("pile_id", "public_key_hex")):
            self.meter_keys[pile_id].append(key)
        # The signed readings are proved on the proving thread while the rest is read.
        verifier.start((entry["signed_end"], self.meter_keys.get(self.piles[entry["pile"]].pk, []))
                       for payload in payloads for entry in _entries(payload)
                       if isinstance(entry, dict) and isinstance(entry.get("signed_end"), str) and entry["signed_end"]
                       and isinstance(entry.get("pile"), str) and entry["pile"] in self.piles)
        # (pile id, connector id) -> the connector's max power (kW), or the pile's rated power.
        self.connectors = {
            (pile_id, connector_id): max_kw if max_kw is not None else by_id[pile_id].rated_power_kw
            for pile_id, connector_id, max_kw in Connector.objects.filter(pile_id__any_of=ids)
            .values_list("pile_id", "connector_id", "max_power_kw")}
        self.old: dict[int, bytes] = {}  # id(row) -> its entry as stored
        # (pile id, connector id) -> the connector's latest day row: the day before the run's first
        # day and the run's days hold it for a connector reported every day; the others are looked up.
        self.current: dict[tuple[int, int], ConnectorDay] = {}
        days = sorted({localtime.local_day(start, self.zone) for start in starts})
        if days:
            # From the day before the run's first day on, with no upper bound: a connector's latest row
            # may be of a later day than a report of the run claims (which interval_order then refuses).
            self._load(ConnectorDay.objects.filter(pile_id__any_of=ids, day__gte=days[0] - dt.timedelta(days=1)), by_id)
            wanted = {key for key in self.connectors if key not in self.current}
            missing = sorted({pile_id for pile_id, _ in wanted})
            latest = (ConnectorDay.objects.filter(pile_id__any_of=missing, day__lt=days[0]).order_by()
                      .values_list("pile_id", "connector_id").annotate(last=Max("day")))
            keys = {(pile_id, connector_id, last) for pile_id, connector_id, last in latest
                    if (pile_id, connector_id) in wanted}
            if keys:
                self._load(ConnectorDay.objects.filter(pile_id__any_of=missing, day__in={k[2] for k in keys}), by_id,
                           only=keys)
        self.areas = {pile.station.grid_area_id: pile.station.grid_area for pile in self.piles.values()}
        first = min(starts, default=None)
        last = max(starts, default=None)
        self.outages: dict[int, list] = {}
        self.maintenance: dict[tuple[int, int], list] = {}
        self.loads: dict[tuple[int, dt.datetime], AreaLoad] = {}
        # (pile id, connector id) -> when its meter was replaced within the run's intervals.
        self.replacements: dict[tuple[int, int], list] = defaultdict(list)
        if first is not None:
            for pile_id, connector_id, at in (MeterReplacement.objects.filter(
                    pile_id__any_of=ids, at__gt=first, at__lt=last + self.length)
                    .order_by("at", "uid").values_list("pile_id", "connector_id", "at")):
                self.replacements[(pile_id, connector_id)].append(at)
            self.outages, self.maintenance = exclusions(areas=sorted(self.areas), piles=ids, start=first,
                                                        end=last + self.length)
            for row in AreaLoad.objects.filter(area_id__in=sorted(self.areas), start__in=sorted(starts)):
                row.area = self.areas[row.area_id]
                self.loads[(row.area_id, row.start)] = row
                self.old[id(row)] = entry_bytes(row)
        block_time = run.items[0].block_time
        self.expired = list(OpenReport.objects.filter(closes_at__lte=block_time).order_by("tx_id"))

    def _load(self, rows, by_id, only=None) -> None:
        for row in stored_rows(rows, related={"pile": by_id}):
            if only is not None and (row.pile_id, row.connector_id, row.day) not in only:
                continue
            key = (row.pile_id, row.connector_id)
            known = self.current.get(key)
            if known is None or known.day < row.day:
                self.current[key] = row
        for row in self.current.values():
            if id(row) not in self.old:
                self.old[id(row)] = entry_bytes(row)

    def exclusion_spans(self, pile: Pile, connector_id: int) -> list:
        return self.outages.get(pile.station.grid_area_id, []) + self.maintenance.get((pile.pk, connector_id), [])
