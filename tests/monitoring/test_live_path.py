"""The live path in one process (issue #17): the operator's outbox and its numbering, the meter
sampling, and a member's endpoint: signed batches applied once and in order, gaps, duplicates,
forged or misaddressed batches, events about another operator's piles, snapshots. The same path
between real node processes is tests/consortium/test_live_path.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from ledger.chain.encoding import canonical
from monitoring import ingest
from monitoring.live import events, forwarder, status, stream, wire
from monitoring.services import load
from monitoring.models import ConnectorState, LiveEvent, LiveLink, LiveRecord, PileState, StatusEvent

from tests.gateway.live import live_server
from tests.monitoring.test_alerts_live import new_token, subscribe

URL = "/monitoring/live/peer/"


def t(seconds: float) -> dt.datetime:
    return timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5) + dt.timedelta(seconds=seconds)


def batch(world, *, source="OP-B", to="OP-A", first=1, head=None, items=(), snapshot=None, chain_id=None) -> dict:
    items = list(items)
    return {"type": events.BATCH_TYPE, "chain_id": chain_id or world.definition.chain_id, "source": source, "to": to,
            "first": first, "head": head if head is not None else first + len(items) - 1, "events": items,
            "snapshot": snapshot}


def post(world, body: dict, *, key_of="OP-B"):
    return Client().post(URL, data=wire.pack(body, world.keys[key_of]), content_type="application/json")


@pytest.fixture
def live(world, ledger_node):
    world.keys, world.definition = ledger_node.keys, ledger_node.definition
    return world


def b1_status(seconds, state="Charging", connector=1):
    return events.status("PILE-B1", connector, state, "", t(seconds))


def test_a_batch_is_applied_once_in_order_and_a_retry_changes_nothing(live):
    items = [events.connection("PILE-B1", True, t(0)), b1_status(1, "Preparing"), b1_status(2, "Charging"),
             events.meter("PILE-B1", 1, "22000.5", "1234567", t(3))]
    answer = post(live, batch(live, items=items))
    assert answer.status_code == 200 and answer.json() == {"applied": 4, "refused": 0}
    state = ConnectorState.objects.get(pile__code="PILE-B1", connector_id=1)
    assert (state.status, state.source, str(state.power_w.normalize()), int(state.energy_wh)) == ("Charging", "OP-B", "22000.5", 1234567)
    pile = PileState.objects.get(pile__code="PILE-B1")
    assert pile.online is True and pile.source == "OP-B"
    assert StatusEvent.objects.filter(pile__code="PILE-B1").count() == 2
    # The same batch again (an answer lost on the way): nothing applied twice.
    again = post(live, batch(live, items=items))
    assert again.json()["applied"] == 4
    assert StatusEvent.objects.filter(pile__code="PILE-B1").count() == 2
    # Overlapping: events 3..5, of which only 5 is new.
    overlap = post(live, batch(live, first=3, items=[items[2], items[3], b1_status(5, "Finishing")]))
    assert overlap.json()["applied"] == 5
    assert list(StatusEvent.objects.filter(pile__code="PILE-B1").order_by("ts").values_list("status", flat=True)) == [
        "Preparing", "Charging", "Finishing"]
    link = LiveLink.objects.get(peer="OP-B", direction="in")
    assert (link.seq, link.head) == (5, 5)


def test_a_gap_is_refused_with_the_position_to_resend_from(live):
    assert post(live, batch(live, items=[b1_status(1)])).json()["applied"] == 1
    gap = post(live, batch(live, first=3, items=[b1_status(3)]))
    assert gap.status_code == 409 and gap.json()["applied"] == 1
    assert StatusEvent.objects.filter(pile__code="PILE-B1").count() == 1
    assert "gap" in LiveLink.objects.get(peer="OP-B", direction="in").last_error


def test_events_about_another_operators_pile_or_unknown_or_malformed_are_refused_alone(live):
    items = [
        events.status("PILE-A1", 1, "Faulted", "GroundFailure", t(1)),  # OP-A's pile, sent by OP-B
        events.status("NO-SUCH-PILE", 1, "Available", "", t(2)),
        {"k": "status", "p": "PILE-B1", "c": -1, "s": "Available", "e": "", "t": "yesterday"},
        b1_status(4, "Available"),
    ]
    answer = post(live, batch(live, items=items))
    assert answer.json() == {"applied": 4, "refused": 3}
    assert not ConnectorState.objects.filter(pile__code="PILE-A1", source="OP-B").exists()
    assert ConnectorState.objects.get(pile__code="PILE-B1", connector_id=1).status == "Available"
    assert LiveLink.objects.get(peer="OP-B", direction="in").refused == 3


@pytest.mark.parametrize("case", ["forged", "misaddressed", "other_chain", "from_me", "not_canonical", "bad_shape"])
def test_bad_batches_are_refused_and_change_nothing(live, case):
    body = batch(live, items=[b1_status(1)])
    if case == "forged":
        answer = post(live, body, key_of="OP-A")  # signed by someone else than its source
    elif case == "misaddressed":
        answer = post(live, {**body, "to": "REG"})
    elif case == "other_chain":
        answer = post(live, {**body, "chain_id": "another-chain"})
    elif case == "from_me":
        answer = post(live, {**body, "source": "OP-A"}, key_of="OP-A")
    elif case == "not_canonical":
        answer = Client().post(URL, data=b'{"batch": {}, "sig": "00"}', content_type="application/json")
    else:
        outer = canonical({"batch": {**body, "first": 0}, "sig": "00"})
        answer = Client().post(URL, data=outer, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"]
    assert not LiveLink.objects.filter(direction="in").exists()
    assert not StatusEvent.objects.filter(pile__code="PILE-B1").exists()


def test_a_snapshot_sets_the_state_and_the_position_after_its_last_part(live):
    part1 = [events.connection("PILE-B1", False, t(10)), b1_status(9, "Unavailable", 1)]
    part2 = [b1_status(9, "Faulted", 2)]
    assert post(live, batch(live, first=501, head=500, items=part1, snapshot={"part": 1, "parts": 2})).json()["applied"] == 0
    assert post(live, batch(live, first=501, head=500, items=part2, snapshot={"part": 2, "parts": 2})).json()["applied"] == 500
    assert PileState.objects.get(pile__code="PILE-B1").online is False
    assert ConnectorState.objects.get(pile__code="PILE-B1", connector_id=2).status == "Faulted"
    assert not StatusEvent.objects.filter(pile__code="PILE-B1").exists()  # a snapshot is state, not history
    assert post(live, batch(live, first=501, items=[b1_status(11, "Available", 2)])).json()["applied"] == 501


def test_the_operators_own_events_are_numbered_without_gaps_and_sampled(live, settings):
    for second in range(3):
        ingest.record_status(pile_code="PILE-A1", connector_id=1, status=["Available", "Preparing", "Charging"][second],
                             error_code="", info="", timestamp=t(second), source="ocpp1.6")
    ingest.record_connection(pile_code="PILE-A1", up=False, at=t(3))
    # Meter values every 2 s for 30 s: with live.meter_sample_s = 10 (the default), four samples go out.
    for second in range(0, 31, 2):
        ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
            {"timestamp": t(10 + second), "measurand": "Power.Active.Import", "value": "7000", "unit": "W",
             "phase": None, "context": None}])
    rows = forwarder.sequence()
    kinds = [r.event["k"] for r in rows]
    assert kinds == ["status"] * 3 + ["conn"] + ["meter"] * 4
    assert [r.seq for r in rows] == list(range(1, 9)) and forwarder.head() == 8
    assert forwarder.sequence() == []  # nothing new: no number given twice
    forwarder.publish_own(rows)
    record = LiveRecord.objects.get()
    assert [e["source_seq"] for e in record.events] == list(range(1, 9))
    assert all(e["operator"] == "OP-A" and e["area_owner"] == "GRID-1" for e in record.events)


def test_prune_keeps_what_a_member_has_not_applied_and_snapshot_describes_the_state(live):
    ingest.record_connection(pile_code="PILE-A1", up=True, at=t(0))
    for second in range(5):
        ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Available", error_code="", info="",
                             timestamp=t(1 + second), source="ocpp1.6")
    assert (status.links()["head"], status.links()["unnumbered"]) == (0, 6)
    forwarder.sequence()
    LiveLink.objects.create(peer="REG", direction="out", seq=2)
    LiveLink.objects.create(peer="GRID-1", direction="out", seq=6)
    assert forwarder.prune(keep=1000, members=["REG", "GRID-1", "METRO"]) == 0  # METRO has had nothing yet
    forwarder.prune(keep=1000, members=["REG", "GRID-1"])
    assert list(LiveEvent.objects.values_list("seq", flat=True)) == [3, 4, 5, 6]
    forwarder.prune(keep=1, members=["REG", "GRID-1"])  # REG is too far behind now: it will get a snapshot
    assert list(LiveEvent.objects.values_list("seq", flat=True)) == [6]
    snap = forwarder.snapshot_events()
    assert {e["k"] for e in snap} == {"conn", "status"} and all(e["p"] == "PILE-A1" for e in snap)
    links = status.links()
    assert links["head"] == 6 and links["unnumbered"] == 0 and {s["peer"]: s["behind"] for s in links["sending"]} == {"REG": 4, "GRID-1": 0}


def test_the_stream_shows_a_public_piles_status_to_every_member_and_its_power_only_to_its_audience():
    base = {"pile": "PILE-A1", "at": "2026-01-01T00:00:00.000Z", "source": "OP-A", "source_seq": 1,
            "operator": "OP-A", "area": "AREA-1", "area_owner": "GRID-1"}
    status_public = {**base, "kind": "status", "public": True, "connector_id": 1, "status": "Charging", "error_code": ""}
    meter = {**base, "kind": "meter", "public": True, "connector_id": 1, "power_w": "7000", "energy_wh": "1"}
    status_dedicated = {**status_public, "public": False}
    competitor, grid2, grid1, regulator = {"operator": "OP-B"}, {"area_owner": "GRID-2"}, {"area_owner": "GRID-1"}, {"all": True}
    assert stream.visible(status_public, competitor) and stream.visible(status_public, grid2)
    assert not stream.visible(meter, competitor) and not stream.visible(meter, grid2)
    assert not stream.visible(status_dedicated, competitor)
    assert stream.visible(meter, grid1) and stream.visible(meter, regulator) and stream.visible(meter, {"operator": "OP-A"})
    assert not stream.visible(status_public, None)
    item = {"seq": 7, "events": [status_public, meter]}
    assert stream.select(item, competitor, {}) == {"seq": 7, "events": [status_public]}
    assert stream.select(item, regulator, {"kinds": ["meter"]}) == {"seq": 7, "events": [meter]}
    assert stream.select(item, regulator, {"states": ["Faulted"]}) is None
    assert stream.select(item, regulator, stream.parse_filters({"operators": "OP-B"})) is None
    assert stream.select(item, regulator, stream.parse_filters({"operators": "OP-A", "areas": "AREA-1", "states": "Charging"})) == {
        "seq": 7, "events": [status_public]}
    with pytest.raises(ValueError):
        stream.parse_filters({"kinds": ["everything"]})
    with pytest.raises(ValueError):
        stream.parse_filters({"colour": "red"})


@pytest.mark.django_db(transaction=True)  # the server's threads see what the test wrote
def test_the_live_websocket_pushes_resumes_and_narrows_per_subscriber(live):
    """A real ASGI server: the regulator's token sees OP-A's status and power; OP-B's token only the
    public status; a subscriber that comes back with `after` gets what it missed, once."""
    regulator, competitor = new_token("reg_manager"), new_token("b_manager")

    def own_events(second, state):
        ingest.record_status(pile_code="PILE-A1", connector_id=1, status=state, error_code="", info="",
                             timestamp=t(second), source="ocpp1.6")
        ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
            {"timestamp": t(second), "measurand": "Power.Active.Import", "value": "7000", "unit": "W", "phase": None,
             "context": None}])
        forwarder.publish_own(forwarder.sequence())

    async def next_live(ws):
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "live":
                return message

    async def scenario(url):
        reg = await subscribe(url, f"/ws/live/?token={regulator}")
        rival = await subscribe(url, f"/ws/live/?token={competitor}")
        await sync_to_async(own_events)(0, "Charging")
        seen = await next_live(reg)
        assert {e["kind"] for e in seen["live"]["events"]} == {"status", "meter"}
        rival_seen = await next_live(rival)
        assert [e["kind"] for e in rival_seen["live"]["events"]] == ["status"]  # a public pile's status only
        await reg.close()
        await sync_to_async(own_events)(20, "Finishing")  # missed while away
        back = await subscribe(url, f"/ws/live/?token={regulator}&after={seen['live']['seq']}")
        replayed = await next_live(back)
        assert replayed.get("replayed") and replayed["live"]["events"][0]["status"] == "Finishing"
        done = json.loads(await asyncio.wait_for(back.recv(), 10))
        assert done["type"] == "replayed" and done["count"] == 1
        for ws in (back, rival):
            await ws.close()
        with pytest.raises(websockets.InvalidStatus):  # closed before the handshake completes
            await subscribe(url, "/ws/live/?token=not-a-token")

    with live_server() as url:
        asyncio.run(scenario(url))


def test_an_idle_connected_pile_stays_seen_while_its_source_is_heard(live):
    post(live, batch(live, items=[events.connection("PILE-B1", True, t(0))]))
    PileState.objects.filter(pile__code="PILE-B1").update(last_seen_at=timezone.now() - dt.timedelta(hours=1))
    post(live, batch(live, first=2, head=1))  # the source's heartbeat: nothing new
    assert timezone.now() - PileState.objects.get(pile__code="PILE-B1").last_seen_at < dt.timedelta(minutes=1)
    post(live, batch(live, first=2, items=[events.connection("PILE-B1", False, t(1))]))
    PileState.objects.filter(pile__code="PILE-B1").update(last_seen_at=timezone.now() - dt.timedelta(hours=1))
    post(live, batch(live, first=3, head=2))
    assert timezone.now() - PileState.objects.get(pile__code="PILE-B1").last_seen_at > dt.timedelta(minutes=59)


def test_an_areas_load_counts_only_the_power_the_reader_may_see(live):
    """A pile's power is private to its audience: an area's total would give a competitor the fleet's
    power, so an operator sees only its own piles' share, the grid company and the regulator all."""
    ingest.record_meter_values(pile_code="PILE-A1", connector_id=1, samples=[
        {"timestamp": timezone.now(), "measurand": "Power.Active.Import", "value": "7000", "unit": "W", "phase": None,
         "context": None}])

    def area_1(username):
        return next(r["power_kw"] for r in load.area_loads(user=live.users[username]) if r["area"] == "AREA-1")

    assert area_1("reg_manager") == area_1("grid_manager") == area_1("a_manager") == 7
    assert area_1("b_manager") == 0 and area_1("grid2_manager") == 0


@pytest.mark.django_db(transaction=True)  # the forwarder's threads use connections of their own
def test_a_forwarder_run_ends_when_idle_and_frees_its_worker(live):
    """The forwarder holds a Celery worker's slot only while there is work: with its events numbered
    and every member either up to date or unreachable (this test's members listen nowhere), a run
    ends within seconds and says so; a later run (beat, or the next event) tries again."""
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Available", error_code="", info="",
                         timestamp=t(0), source="ocpp1.6")
    started = timezone.now()
    assert forwarder.run(holder="test-run", max_seconds=60) == "idle"
    assert (timezone.now() - started).total_seconds() < 30
    assert forwarder.head() == 1
    links = status.links()["sending"]
    assert links and all(row["applied"] == 0 and row["last_error"] for row in links)
    # Another holder cannot run meanwhile; the lease went with the run.
    assert forwarder.take_lease("other") and forwarder.run(holder="test-run", max_seconds=60) == "held"
    forwarder.release_lease("other")


@pytest.mark.django_db(transaction=True)  # each sender thread has its own connection: real concurrency
def test_the_same_events_sent_at_once_by_several_senders_are_applied_once(live):
    """A restarted forwarder may send again what a stalled one still has in flight: overlapping
    batches arriving together are applied once, in order (the position row is locked)."""
    items = [b1_status(i, STATES[i % len(STATES)], 1 + i % 2) for i in range(60)]
    bodies = [batch(live, first=first, head=60, items=items[first - 1:first + 29]) for first in (1, 1, 11, 21, 31, 31)]
    errors = []

    def send(body):
        try:
            answer = post(live, body)
            assert answer.status_code in (200, 409), answer.content
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    for _ in range(3):
        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    post(live, batch(live, first=1, head=60, items=items))
    rows = list(StatusEvent.objects.filter(pile__code="PILE-B1").values_list("connector_id", "ts"))
    assert len(rows) == len(set(rows)) == 60
    assert LiveLink.objects.get(peer="OP-B", direction="in").seq == 60


STATES = ("Available", "Preparing", "Charging", "SuspendedEV", "Finishing")
