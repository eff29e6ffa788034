"""This node's live stream: the events applied here (its own gateway's, and those members sent),
numbered in the stream's history (monitoring.history) and pushed to the websocket subscribers
(monitoring.live.consumers), each seeing what the classification table lets it see.

Who sees an event: the status and connection of a public pile are public (every member's people
and tokens); power and energy, and anything about a dedicated (non-public) pile, only the pile's
audience (registry.access.institution_audience: its operator, the regulator, the metrology
institutes, the grid company for its areas), never another operator."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models.functions import Lower

from monitoring import alerts, conf
from monitoring.history import History
from monitoring.live import events
from monitoring.models import LiveRecord
from registry.models import Pile

logger = logging.getLogger("pilechain.monitoring.live")

GROUP = "monitoring.live"
FILTER_KEYS = ("institutions", "operators", "areas", "piles", "states", "kinds")


def numbered(events_: list, seq: int) -> dict:
    return {"seq": seq, "events": events_}


HISTORY = History(LiveRecord, "events", conf.live_history, numbered)


def piles_by_code(codes) -> dict:
    """The piles named by events, by upper-cased code, with what describing them needs (one query)."""
    keys = sorted({c.lower() for c in codes if isinstance(c, str)})
    found = Pile.objects.select_related("station__operator", "station__grid_area__owner").annotate(
        code_key=Lower("code")).filter(code_key__in=keys)
    return {p.code.upper(): p for p in found}


def describe(event: dict, *, pile, source: str, seq: int) -> dict:
    """A parsed event as the stream shows it, with the pile's operator, area, area owner and whether
    it is public (what the audience and the filters need)."""
    station = pile.station
    return events.describe(event, source=source, seq=seq, operator=station.operator.code, area=station.grid_area.code,
                           area_owner=station.grid_area.owner.code, public=pile.public)


def _send_live(item: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(GROUP, {"type": "live.message", "item": item})


def publish(described: list[dict]) -> dict | None:
    """Number a group of described events, keep it and push it to this node's subscribers. Call it
    after the commit that applied them. A failure here is logged, never raised: the state is
    applied already, and a subscriber's page reads it from there."""
    if not described:
        return None
    try:
        return HISTORY.record(described, _send_live)
    except Exception:
        logger.exception("%d live events not recorded in the stream", len(described))
        return None


def visible(event: dict, scope: dict | None) -> bool:
    """The classification table for one event (`scope`: monitoring.alerts.audience)."""
    if not scope:
        return False
    if not events.private(event):
        return True
    return alerts.visible(event, scope)


def matches(event: dict, filters: dict) -> bool:
    for key, field in (("piles", "pile"), ("areas", "area"), ("kinds", "kind"), ("operators", "operator")):
        wanted = filters.get(key)
        if wanted and event.get(field) not in wanted:
            return False
    states = filters.get("states")
    if states:
        state = event.get("status") if event["kind"] == "status" else (
            ("online" if event.get("online") else "offline") if event["kind"] == "conn" else None)
        if state not in states:
            return False
    institutions = filters.get("institutions")
    if institutions and event.get("operator") not in institutions and event.get("area_owner") not in institutions:
        return False
    return True


def select(item: dict, scope: dict | None, filters: dict) -> dict | None:
    """The item with only the events this subscriber may see and asked for; None if none is left."""
    kept = [e for e in item["events"] if visible(e, scope) and matches(e, filters)]
    return {"seq": item["seq"], "events": kept} if kept else None


def parse_filters(raw: dict) -> dict:
    filters = alerts.parse_filters(raw, FILTER_KEYS)
    if set(filters.get("kinds", ())) - set(events.KINDS):
        raise ValueError(f"kinds are among {', '.join(events.KINDS)}")
    return filters
