"""The operator node's side of the live path: number the outbox's events, push them to this node's
own stream, and send them to every other member, each on a thread of its own.

One forwarder per node at a time (a lease in the node's Redis; numbering also locks the head row,
so two forwarders could never give one number twice). It is a Celery task that runs while there is
work and ends when idle, so it holds a worker's slot only while events flow: the outbox kicks it
when an event commits, and beat queues it every few seconds (heartbeats, retries, recovery). The
gateway only writes outbox rows: a slow or dead member never slows it. Each member's position (LiveLink OUT) is what it answered it has
applied; a member that was away is sent what it missed from there, in order, in batches; one
further behind than the outbox keeps is sent the current state (a snapshot) and goes on from the
head. With nothing new, a member still hears from the source every few seconds (an empty batch:
the source is alive, and this is its head).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import requests
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from ledger.runtime import node, wake
from monitoring import conf
from monitoring.live import events, outbox, stream, wire
from monitoring.live.status import HEAD  # the LiveLink OUT row whose `head` is the last number given
from monitoring.models import ConnectorState, LiveEvent, LiveLink, PileState

logger = logging.getLogger("pilechain.monitoring.live")

PEER_PATH = "/monitoring/live/peer/"
SEQUENCE_CHUNK = 5000
POST_TIMEOUT_S = 10
BACKOFF_MAX_S = 10


def head() -> int:
    row = LiveLink.objects.filter(peer=HEAD, direction=LiveLink.Direction.OUT).values_list("head", flat=True).first()
    return row or 0


def sequence() -> list[LiveEvent]:
    """Number the outbox's unnumbered events, in the order they became visible; returns them."""
    with transaction.atomic():
        LiveLink.objects.get_or_create(peer=HEAD, direction=LiveLink.Direction.OUT)
        counter = LiveLink.objects.select_for_update().get(peer=HEAD, direction=LiveLink.Direction.OUT)
        table = LiveEvent._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET seq = %s + r.rn FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn "
                f"FROM {table} WHERE seq IS NULL ORDER BY id LIMIT %s) AS r WHERE {table}.id = r.id",
                [counter.head, SEQUENCE_CHUNK],
            )
            numbered = cursor.rowcount
        if numbered <= 0:
            return []
        rows = list(LiveEvent.objects.filter(seq__gt=counter.head).order_by("seq"))
        counter.head += numbered
        counter.save(update_fields=["head"])
    return rows


def publish_own(rows: list[LiveEvent]) -> None:
    """This node's own events, to its own stream (the members' nodes publish them on arrival)."""
    if not rows:
        return
    parsed = [(row.seq, events.parse(row.event)) for row in rows]
    piles = stream.piles_by_code({e["p"] for _, e in parsed})
    stream.publish([stream.describe(event, pile=piles[event["p"]], source=settings.NODE_CODE, seq=seq)
                    for seq, event in parsed if event["p"] in piles])


def prune(keep: int, members: list[str]) -> int:
    """Drop numbered events every member (`members`: the other members' codes) has applied, and
    beyond `keep` whatever its position (a member that far behind gets a snapshot). A member this
    node has not sent to yet is at 0."""
    top = head()
    known = dict(LiveLink.objects.filter(direction=LiveLink.Direction.OUT, peer__in=members).values_list("peer", "seq"))
    floor = min([known.get(code, 0) for code in members] + [top])
    cut = max(floor, top - keep)
    deleted, _ = LiveEvent.objects.filter(seq__isnull=False, seq__lte=cut).delete()
    return deleted


def snapshot_events() -> list[dict]:
    """The current state of this node's own piles, as events (for a member too far behind)."""
    out = []
    for state in PileState.objects.filter(source="", online__isnull=False).select_related("pile").order_by("pile_id"):
        out.append(events.connection(state.pile.code, state.online, state.online_at or state.last_seen_at))
    for state in ConnectorState.objects.filter(source="").select_related("pile").order_by("pile_id", "connector_id"):
        if state.status_at is not None:
            out.append(events.status(state.pile.code, state.connector_id, state.status, state.error_code, state.status_at))
        at = max((t for t in (state.power_at, state.energy_at) if t is not None), default=None)
        if at is not None:
            out.append(events.meter(state.pile.code, state.connector_id, state.power_w, state.energy_wh, at))
    return out


class PeerLink(threading.Thread):
    """Sends one member what it has not applied yet, in order; waits when it is up to date."""

    def __init__(self, *, me: str, chain_id: str, peer: str, url: str, signing_key, nudge: threading.Event,
                 stopping: threading.Event, post: Callable | None = None, batch_max: int = events.MAX_EVENTS_PER_BATCH):
        super().__init__(name=f"live-{peer}", daemon=True)
        self.me, self.chain_id, self.peer, self.url, self.key = me, chain_id, peer, url + PEER_PATH, signing_key
        self.nudge, self.stopping, self.batch_max = nudge, stopping, batch_max
        self.session = requests.Session()
        self.post = post or self._post
        self.last_sent = 0.0
        self.backoff = 0.0
        # Nothing left to send (or the member is failing: a later run tries again): the run may end.
        self.settled = False

    def _batch(self, first: int, top: int, items: list, snapshot: dict | None = None) -> bytes:
        return wire.pack({
            "type": events.BATCH_TYPE, "chain_id": self.chain_id, "source": self.me, "to": self.peer,
            "first": first, "head": top, "events": items, "snapshot": snapshot,
        }, self.key)

    def _post(self, body: bytes) -> tuple[int, dict]:
        response = self.session.post(self.url, data=body, timeout=POST_TIMEOUT_S,
                                     headers={"Content-Type": "application/json", "X-Pilechain-Node": self.me})
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        return response.status_code, answer

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    sent = self.step()
                    self.backoff = 0.0
                except (requests.RequestException, RuntimeError) as exc:
                    self._failed(exc)
                    self.settled = True
                    self.backoff = min(BACKOFF_MAX_S, max(0.2, self.backoff * 2))
                    self.stopping.wait(self.backoff)
                    continue
                except Exception as exc:  # the thread must survive anything; the next step retries
                    logger.exception("live path to %s failed", self.peer)
                    self._failed(exc)
                    self.settled = True
                    self.stopping.wait(1.0)
                    continue
                self.settled = not sent
                if not sent:
                    wait = max(0.05, conf.live_heartbeat_s() - (time.monotonic() - self.last_sent))
                    self.nudge.wait(wait)
                    self.nudge.clear()
        finally:
            close_old_connections()
            connection.close()

    def _failed(self, exc) -> None:
        """Note the failure on the member's link (for the node's status), if the database lets us."""
        try:
            LiveLink.objects.filter(peer=self.peer, direction=LiveLink.Direction.OUT).update(
                last_error=f"{exc.__class__.__name__}: {exc}"[:500], last_error_at=timezone.now())
        except Exception:
            logger.exception("could not note the live path's failure towards %s", self.peer)
            close_old_connections()

    def step(self) -> bool:
        """Send one batch if there is something to send (or a heartbeat is due); True if sent."""
        link, _ = LiveLink.objects.get_or_create(peer=self.peer, direction=LiveLink.Direction.OUT)
        top = head()
        if link.seq < top:
            rows = list(LiveEvent.objects.filter(seq__gt=link.seq, seq__lte=top).order_by("seq")[:self.batch_max])
            if not rows or rows[0].seq != link.seq + 1:
                return self._send_snapshot(link, top)
            body = self._batch(link.seq + 1, top, [r.event for r in rows])
        elif top > 0 and time.monotonic() - self.last_sent >= conf.live_heartbeat_s():
            body = self._batch(link.seq + 1, top, [])  # a node with no piles has nothing to keep alive
        else:
            return False
        self._deliver(link, body)
        return True

    def _deliver(self, link: LiveLink, body: bytes) -> None:
        status, answer = self.post(body)
        self.last_sent = time.monotonic()
        applied = answer.get("applied")
        if status in (200, 409) and isinstance(applied, int) and applied >= 0:
            LiveLink.objects.filter(pk=link.pk).update(
                seq=applied, head=head(), last_ok_at=timezone.now(),
                **({"last_error": ""} if status == 200 else {"last_error": f"gap: member is at {applied}",
                                                           "last_error_at": timezone.now()}),
            )
            return
        raise RuntimeError(f"member answered {status}: {str(answer)[:200]}")

    def _send_snapshot(self, link: LiveLink, top: int) -> bool:
        logger.warning("live path to %s: it is at %d, older events are gone; sending the current state", self.peer, link.seq)
        state = snapshot_events()
        parts = [state[i:i + self.batch_max] for i in range(0, len(state), self.batch_max)] or [[]]
        for number, part in enumerate(parts, start=1):
            self._deliver(link, self._batch(top + 1, top, part, {"part": number, "parts": len(parts)}))
        return True


# --- the loop -------------------------------------------------------------------------------------
LEASE_TTL_S = 8
PRUNE_EVERY_S = 30
IDLE_EXIT_S = 2.0  # nothing new for this long and every member up to date (or failing): the run ends


def _lease_key() -> str:
    return f"pilechain:{settings.NODE_CODE}:live-forwarder"


def take_lease(holder: str) -> bool:
    client = wake.client()
    if client.set(_lease_key(), holder, nx=True, ex=LEASE_TTL_S):
        return True
    if client.get(_lease_key()) == holder.encode():
        client.expire(_lease_key(), LEASE_TTL_S)
        return True
    return False


def release_lease(holder: str) -> None:
    client = wake.client()
    if client.get(_lease_key()) == holder.encode():
        client.delete(_lease_key())


def run(*, holder: str, max_seconds: float, stop_requested: Callable[[], bool] = lambda: False) -> str:
    """Forward while there is work: new events, a member behind that answers, a heartbeat due. Ends
    when idle for IDLE_EXIT_S (a Celery worker's slot is held only while events flow), when
    `max_seconds` passed ("more": queue the next run) or a stop is requested; "held" if another
    forwarder holds the lease."""
    if not take_lease(holder):
        return "held"
    client = wake.client()
    me, definition, key = node.me(), node.consortium(), node.keys().signing
    stopping = threading.Event()
    links = [PeerLink(me=me.code, chain_id=definition.chain_id, peer=m.code, url=m.url, signing_key=key,
                      nudge=threading.Event(), stopping=stopping) for m in definition.members if m.code != me.code]
    for link in links:
        link.start()
    started = pruned = time.monotonic()
    busy = started - IDLE_EXIT_S  # a run that finds nothing new ends as soon as every member is settled
    outcome = "idle"
    try:
        while True:
            if stop_requested():
                outcome = "stopped"
                break
            if time.monotonic() - started > max_seconds:
                outcome = "more"
                break
            if not take_lease(holder):
                logger.warning("live forwarder lease lost to another holder")
                outcome = "held"
                break
            client.set(outbox.queued_key(), b"1", ex=outbox.QUEUED_TTL_S)  # running: no need to queue another
            rows = sequence()
            if rows:
                busy = time.monotonic()
                for link in links:
                    link.nudge.set()
                publish_own(rows)
            if time.monotonic() - pruned > PRUNE_EVERY_S:
                prune(conf.live_outbox_keep(), [link.peer for link in links])
                pruned = time.monotonic()
            if not rows and time.monotonic() - busy > IDLE_EXIT_S and all(link.settled for link in links):
                client.delete(outbox.queued_key())
                if LiveEvent.objects.filter(seq__isnull=True).exists():  # came in as the mark went
                    continue
                break
            if len(rows) < SEQUENCE_CHUNK:
                outbox.wait(0.5)
    finally:
        stopping.set()
        for link in links:
            link.nudge.set()
            link.join(timeout=POST_TIMEOUT_S + 5)
        release_lease(holder)
    return outcome
