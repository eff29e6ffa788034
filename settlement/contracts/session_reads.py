"""What a run of session transactions reads, loaded once for the whole run (a few queries, not a few
per transaction), then kept up to date in memory as the run opens and closes sessions.

Only ledger-owned rows are read, in a fixed order, at the state before the run: every node loads the
same. A run never changes piles, connectors, keys, tariffs or compliance (other contracts do, in
other runs), so those are read once; sessions and the counted spans on each connector change
within the run and are kept here as the run goes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict

from calibration.models import ComplianceChange
from registry.models import Connector, DeviceKey, Pile, Station
from registry.models.keys import KeyPurpose, KeyStatus
from calibration.contracts.compliance import ComplianceHistory
from settlement.identifiers import session_uid
from settlement.models import ChargingSession, SessionStatus, Tariff
from settlement.tariffs import TariffError, build_tariff

OPEN = "settlement.session_open"
CLOSE = "settlement.session_close"


def canonical_uid(value) -> str | None:
    """A session's public id as the payload names it, in the form rows are keyed by (None: not one)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _opened_uid(payload: dict) -> str | None:
    p = payload
    if isinstance(p.get("pile"), str) and isinstance(p.get("transaction_id"), str) and isinstance(p.get("started_at"), str):
        return str(session_uid(p["pile"], p["transaction_id"], p["started_at"]))
    return None


class SessionReads:
    def __init__(self, run, *, height: int):
        payloads = [(ctx.tx.type, ctx.tx.payload) for ctx in run]
        codes = sorted({p["pile"] for _, p in payloads if isinstance(p.get("pile"), str)})
        uids = sorted({u for u in (
            (canonical_uid(p.get("session")) if t == CLOSE else _opened_uid(p)) for t, p in payloads) if u})
        self.piles: dict[str, Pile] = {pile.code: pile for pile in Pile.objects.filter(code__any_of=codes)}
        # A run's piles share a few stations: each station (and its operator) is read once.
        stations = {station.pk: station for station in Station.objects.filter(
            pk__in={pile.station_id for pile in self.piles.values()}).select_related("operator")}
        for pile in self.piles.values():
            pile.station = stations[pile.station_id]
        by_id = {pile.pk: pile for pile in self.piles.values()}
        opening = sorted({self.piles[p["pile"]].pk for t, p in payloads
                          if t == OPEN and isinstance(p.get("pile"), str) and p["pile"] in self.piles})
        self.connectors = set(Connector.objects.filter(pile_id__any_of=opening).values_list("pile_id", "connector_id")
                              if opening else ())
        self.sessions: dict[str, ChargingSession] = {}
        for session in ChargingSession.objects.filter(uid__any_of=uids).order_by("uid"):
            if session.pile_id in by_id:
                session.pile = by_id[session.pile_id]
            self.sessions[str(session.uid)] = session

        closing = {self.piles[p["pile"]].pk for t, p in payloads
                   if t == CLOSE and isinstance(p.get("pile"), str) and p["pile"] in self.piles}
        signed = {self.piles[p["pile"]].pk for t, p in payloads
                  if t == CLOSE and p.get("signed_data") and isinstance(p.get("pile"), str) and p["pile"] in self.piles}
        self._meter_keys: dict[int, list[str]] = defaultdict(list)
        for pile_id, key in (DeviceKey.objects.filter(pile_id__any_of=sorted(signed), purpose=KeyPurpose.METER,
                                                      status=KeyStatus.ACTIVE)
                             .order_by("pile_id", "fingerprint").values_list("pile_id", "public_key_hex")):
            self._meter_keys[pile_id].append(key)
        areas = {by_id[pid].station.grid_area_id for pid in closing}
        self._tariffs: dict[int, list] = defaultdict(list)
        for tariff in Tariff.objects.filter(area_id__in=areas).order_by("area_id", "valid_from", "height"):
            try:
                self._tariffs[tariff.area_id].append(
                    build_tariff(valid_from=tariff.valid_from, windows=tariff.windows, prices=tariff.prices))
            except TariffError:  # the publishing contract refused these; never on the ledger
                continue
        self._histories: dict[int, ComplianceHistory] = {}
        changes = defaultdict(list)
        for pile_id, since, status, due_on in (ComplianceChange.objects.filter(pile_id__any_of=sorted(closing), height__lte=height)
                                               .order_by("pile_id", *ComplianceChange.NEWEST_FIRST)
                                               .values_list("pile_id", "since", "status", "due_on")):
            changes[pile_id].append((since, status, due_on))
        for pile_id in closing:
            self._histories[pile_id] = ComplianceHistory.from_changes(changes.get(pile_id, []))
        self._counted: dict[tuple[int, int], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        self._load_counted(closing, payloads)

    def _load_counted(self, closing: set[int], payloads) -> None:
        """Counted sessions on the closing piles that stopped after the earliest start among the
        sessions this run may close: only those can overlap one of them. Found through the index on
        (pile, stop); the exact overlap is checked per session (settlement.checks)."""
        starts = [s.started_at for s in self.sessions.values() if s.pile_id in closing]
        for t, p in payloads:
            if t == OPEN and isinstance(p.get("started_at"), str):  # opened and closed in this run
                try:
                    moment = dt.datetime.fromisoformat(p["started_at"])
                except ValueError:
                    continue
                if moment.tzinfo is not None:
                    starts.append(moment)
        if not closing or not starts:
            return
        rows = (ChargingSession.objects.filter(pile_id__any_of=sorted(closing), stopped_at__gte=min(starts),
                                               status=SessionStatus.CLOSED, held_reason="")
                .order_by("pile_id", "connector_id", "started_at", "uid")
                .values_list("pile_id", "connector_id", "started_at", "stopped_at"))
        for pile_id, connector_id, started_at, stopped_at in rows:
            self._counted[(pile_id, connector_id)].append((started_at, stopped_at))

    def meter_keys(self, pile: Pile) -> list[str]:
        return self._meter_keys.get(pile.pk, [])

    def tariffs(self, pile: Pile) -> list:
        return self._tariffs.get(pile.station.grid_area_id, [])

    def history(self, pile: Pile) -> ComplianceHistory:
        return self._histories[pile.pk]

    def counted_spans(self, pile: Pile, connector_id: int) -> list[tuple[dt.datetime, dt.datetime]]:
        return self._counted[(pile.pk, connector_id)]

    def add_counted(self, session: ChargingSession) -> None:
        self._counted[(session.pile_id, session.connector_id)].append((session.started_at, session.stopped_at))
