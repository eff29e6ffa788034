"""A member's side of the live path: apply a batch an operator's node sent, exactly once and in the
source's order.

The source numbers its events 1, 2, 3, ...; this node keeps, per source, the last number it applied
(LiveLink IN). A batch that starts after that number is a gap: refused with the number, and the
source sends again from there. Events this node already applied are skipped, so a batch sent twice
(a retry after a lost answer, a restarted sender) changes nothing. An event about a pile that the
source does not operate, or that this node does not know, or that is malformed is refused alone
(counted), and the sequence moves on: one bad event never stalls the path.

Applying keeps the latest reported state of each pile and connector (ConnectorState, PileState,
`source` naming the operator's node) and the status history (StatusEvent), in one transaction with
the new position; then the events go to this node's live stream."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from monitoring import bulk
from monitoring.live import events, stream
from monitoring.models import LiveLink, PileState, StatusEvent

logger = logging.getLogger("pilechain.monitoring.live")

STATUS_SOURCE = "live"


@dataclass(frozen=True)
class Outcome:
    status: int  # 200 applied (or nothing new), 409 gap
    applied: int
    refused: int = 0


def receive(batch: dict) -> Outcome:
    """Apply a checked batch (monitoring.live.wire.unpack)."""
    source, first, items = batch["source"], batch["first"], batch["events"]
    now = timezone.now()
    described = []
    with transaction.atomic():
        link, _ = LiveLink.objects.get_or_create(peer=source, direction=LiveLink.Direction.IN)
        link = LiveLink.objects.select_for_update().get(pk=link.pk)
        if batch["snapshot"] is not None:
            return _snapshot(batch, link, now)
        if first > link.seq + 1:
            link.head = max(link.head, batch["head"])
            link.last_error, link.last_error_at = f"gap: expected {link.seq + 1}, got {first}", now
            link.save(update_fields=["head", "last_error", "last_error_at"])
            return Outcome(409, link.seq)
        fresh = items[link.seq + 1 - first:]
        parsed, refused = [], 0
        for offset, raw in enumerate(fresh):
            seq = link.seq + 1 + offset
            try:
                parsed.append((seq, events.parse(raw)))
            except events.EventError as exc:
                refused += 1
                logger.warning("live event %s#%d refused: %s", source, seq, exc)
        piles = stream.piles_by_code({e["p"] for _, e in parsed})
        accepted = []
        for seq, event in parsed:
            pile = piles.get(event["p"])
            if pile is None or pile.station.operator.code != source:
                refused += 1
                logger.warning("live event %s#%d refused: %s", source, seq,
                               "unknown pile" if pile is None else f"pile {pile.code} is not operated by {source}")
                continue
            accepted.append((seq, event, pile))
        _apply(source, accepted, now)
        if fresh:
            link.seq += len(fresh)
            last_at = max((e["t"] for _, e, _ in accepted), default=None)
            if last_at is not None and (link.event_at is None or last_at > link.event_at):
                link.event_at = last_at
        link.head = max(batch["head"], link.seq)
        link.refused += refused
        link.last_ok_at = now
        link.save()
        _still_connected(source, now)
        described = [stream.describe(event, pile=pile, source=source, seq=seq) for seq, event, pile in accepted]
    stream.publish(described)
    return Outcome(200, link.seq, refused)


SEEN_REFRESH = dt.timedelta(seconds=30)


def _still_connected(source: str, now) -> None:
    """A pile idle on an open connection sends only heartbeats, which stay at its operator's node.
    While its source is heard (every batch, empty ones too) and reports no disconnection, the pile
    counts as seen here, refreshed at most every SEEN_REFRESH; a pile that falls silent on an open
    connection is the operator node's to find, and its silence fault reaches every node by the ledger."""
    PileState.objects.filter(source=source, online=True, last_seen_at__lt=now - SEEN_REFRESH).update(last_seen_at=now)


def _snapshot(batch: dict, link, now) -> Outcome:
    """A part of the source's current state, for a member further behind than the source keeps
    events: applied as state (newest wins; it adds no history); after the last part this node goes on
    from the batch's `first`."""
    parsed, refused = [], 0
    for raw in batch["events"]:
        try:
            parsed.append(events.parse(raw))
        except events.EventError:
            refused += 1
    piles = stream.piles_by_code({e["p"] for e in parsed})
    accepted = [(0, e, piles[e["p"]]) for e in parsed
                if e["p"] in piles and piles[e["p"]].station.operator.code == batch["source"]]
    refused += len(parsed) - len(accepted)
    _apply(batch["source"], accepted, now, history=False)
    snapshot = batch["snapshot"]
    if snapshot["part"] == snapshot["parts"]:
        link.seq = max(link.seq, batch["first"] - 1)
        logger.info("live state of %s taken from a snapshot; going on from %d", batch["source"], batch["first"])
    link.head = max(batch["head"], link.seq)
    link.refused += refused
    link.last_ok_at = now
    link.save()
    return Outcome(200, link.seq, refused)


def _apply(source: str, accepted: list, now, *, history: bool = True) -> None:
    """The events' state, newest wins (each figure keeps its own time)."""
    keys = sorted({(pile.pk, event["c"]) for _, event, pile in accepted if event["k"] in ("status", "meter")})
    states = bulk.locked_states(keys) if keys else {}
    statuses, changed, seen, connections = [], {}, {}, {}
    for _, event, pile in accepted:
        at = event["t"]
        previous = seen.get(pile.pk)
        seen[pile.pk] = (pile, at if previous is None else max(previous[1], at))
        if event["k"] == "conn":
            if pile.pk not in connections or at >= connections[pile.pk][1]:
                connections[pile.pk] = (event["up"], at)
            continue
        state = states[(pile.pk, event["c"])]
        state.source = source
        if event["k"] == "status":
            statuses.append(StatusEvent(pile=pile, connector_id=event["c"], status=event["s"], error_code=event["e"], ts=at,
                                       source=STATUS_SOURCE))
            if state.status_at is None or at >= state.status_at:
                state.status, state.error_code, state.status_at = event["s"], event["e"], at
        else:
            if event["w"] is not None and (state.power_at is None or at >= state.power_at):
                state.power_w, state.power_at = event["w"], at
            if event["wh"] is not None and (state.energy_at is None or at >= state.energy_at):
                state.energy_wh, state.energy_at = event["wh"], at
        state.updated_at = now
        changed[state.pk] = state
    if history:
        StatusEvent.objects.bulk_create(statuses)
    bulk.update_states(list(changed.values()))
    _pile_states(source, seen, connections, now)


def _pile_states(source: str, seen: dict, connections: dict, now) -> None:
    if not seen:
        return
    rows = {st.pile_id: st for st in
            PileState.objects.select_for_update().filter(pile_id__in=sorted(seen)).order_by("pile_id")}
    new = []
    for pile_id, (pile, last_at) in seen.items():
        connection = connections.get(pile_id)
        state = rows.get(pile_id)
        if state is None:
            state = PileState(pile=pile, last_seen_at=last_at)
            new.append(state)
        state.last_seen_at = max(state.last_seen_at, last_at)
        state.source, state.received_at = source, now
        if connection is not None:
            up, at = connection
            if state.online_at is None or at >= state.online_at:
                state.online, state.online_at = up, at
    bulk.update_pile_states(list(rows.values()))
    PileState.objects.bulk_create(new)
