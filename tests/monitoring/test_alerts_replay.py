"""Reconnecting subscribers (issue #15): alerts carry this node's sequence number; a subscriber that
passes the last one it saw gets what it missed from the node's alert history, in order, once, then
the live ones; what it may not see stays hidden; a history too short says "gap", a cursor ahead of
it "reset". Over a live uvicorn and a real websocket client."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
import websockets
from asgiref.sync import sync_to_async

from monitoring import alert_fanout, alert_history, alerts, ingest
from monitoring.models import AlertRecord
from registry.models import Pile
from tests.gateway.live import live_server
from tests.monitoring.helpers import at
from tests.monitoring.test_alerts_live import ORIGIN, fault, new_token, next_alert, subscribe
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def fault_on(pile: str, connector: int):
    ingest.record_status(pile_code=pile, connector_id=connector, status="Faulted", error_code="GroundFailure",
                         info="", timestamp=at(0), source="ocpp1.6")


async def messages_until(ws, kind: str, timeout=10) -> list[dict]:
    """Every message up to and including the first of type `kind`."""
    seen = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        seen.append(message)
        if message["type"] == kind:
            return seen


async def quiet(ws, seconds=1.0) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


def test_reconnect_after_three_missed_alerts_gets_them_in_order_once(world):
    token = new_token("reg_manager")

    async def scenario(url):
        ws = await subscribe(url, f"/ws/alerts/?token={token}")
        await sync_to_async(fault)()
        seen = await next_alert(ws)
        assert seen["phase"] == "reported" and seen["seq"] >= 1
        await ws.close()

        # three alerts while this subscriber is away: the confirmation of PILE-A1's fault, two more faults
        await sync_to_async(commit_pending)()
        await sync_to_async(fault_on)("PILE-B1", 1)
        await sync_to_async(fault_on)("PILE-B1", 2)

        ws = await websockets.connect(f"{url}/ws/alerts/?token={token}&after={seen['seq']}", origin=ORIGIN,
                                      open_timeout=10)
        messages = await messages_until(ws, "replayed")
        assert messages[0]["type"] == "subscribed"
        missed = [m["alert"] for m in messages if m["type"] == "alert"]
        assert [m["type"] for m in messages] == ["subscribed", "alert", "alert", "alert", "replayed"]
        assert [(a["pile"], a["connector_id"], a["phase"]) for a in missed] == [
            ("PILE-A1", 1, "confirmed"), ("PILE-B1", 1, "reported"), ("PILE-B1", 2, "reported")]
        assert [a["seq"] for a in missed] == sorted({a["seq"] for a in missed}) and missed[0]["seq"] > seen["seq"]
        assert all(m.get("replayed") for m in messages if m["type"] == "alert")
        assert messages[-1] == {"type": "replayed", "after": seen["seq"], "seq": missed[-1]["seq"], "count": 3}

        # then live, from where the replay ended: the two confirmations, nothing again
        await sync_to_async(commit_pending)()
        live = [await next_alert(ws), await next_alert(ws)]
        assert [(a["pile"], a["phase"]) for a in live] == [("PILE-B1", "confirmed")] * 2
        assert [a["seq"] for a in live] == [missed[-1]["seq"] + 1, missed[-1]["seq"] + 2]
        assert await quiet(ws)
        await ws.close()

    with live_server() as url:
        asyncio.run(scenario(url))


def test_an_alert_published_while_a_new_subscriber_joins_reaches_it_once(world, monkeypatch):
    """A new subscriber's alerts start where the history stood before it joined the group. Here an
    alert is published just before each read of the history the consumer makes while it connects:
    the one published after the subscriber began (between its join and its read) reaches it once,
    live; none is dropped as if it had been replayed (the page's first alert was lost that way when
    it came right after the socket opened)."""
    token = new_token("reg_manager")
    faults = iter([("PILE-A1", 1), ("PILE-B1", 1), ("PILE-B1", 2)])
    real = alert_history.replay

    def publish_then_read(after, wanted):
        fault_on(*next(faults))
        return real(after, wanted)

    monkeypatch.setattr(alert_history, "replay", publish_then_read)

    async def scenario(url):
        ws = await subscribe(url, f"/ws/alerts/?token={token}")
        got = await next_alert(ws)
        assert got["seq"] == ws.hello["seq"] + 1 and got["phase"] == "reported"  # the first came before it
        assert got["pile"] == "PILE-B1" and got["connector_id"] == 1
        assert await quiet(ws)
        await ws.close()

    with live_server() as url:
        asyncio.run(scenario(url))


def test_replay_shows_only_what_the_subscriber_may_see_and_asked_for(world):
    a_token = new_token("a_manager")
    reg_token = new_token("reg_manager")

    async def scenario(url):
        await sync_to_async(fault_on)("PILE-B1", 1)  # OP-B's pile
        await sync_to_async(fault)()  # OP-A's
        await sync_to_async(fault_on)("PILE-B1", 2)

        operator_a = await websockets.connect(f"{url}/ws/alerts/?token={a_token}&after=0", origin=ORIGIN, open_timeout=10)
        got = await messages_until(operator_a, "replayed")
        assert [m["alert"]["pile"] for m in got if m["type"] == "alert"] == ["PILE-A1"]
        assert got[-1]["count"] == 1
        # the same through a subscribe message, with a filter that leaves nothing
        await operator_a.send(json.dumps({"type": "subscribe", "after": 0, "severities": ["minor"]}))
        got = await messages_until(operator_a, "replayed")
        assert got[0]["type"] == "subscribed" and got[-1]["count"] == 0
        assert not [m for m in got if m["type"] == "alert"]
        await operator_a.close()

        regulator = await websockets.connect(f"{url}/ws/alerts/?token={reg_token}&after=0&piles=PILE-B1",
                                             origin=ORIGIN, open_timeout=10)
        got = await messages_until(regulator, "replayed")
        assert [(m["alert"]["pile"], m["alert"]["connector_id"]) for m in got if m["type"] == "alert"] == [
            ("PILE-B1", 1), ("PILE-B1", 2)]
        await regulator.close()

    with live_server() as url:
        asyncio.run(scenario(url))


def test_history_bound_gap_reset_and_bad_cursor(world, settings):
    settings.MONITORING_ALERT_HISTORY = 2
    token = new_token("reg_manager")

    async def scenario(url):
        ws = await subscribe(url, f"/ws/alerts/?token={token}")
        await sync_to_async(fault)()
        await sync_to_async(commit_pending)()
        await sync_to_async(fault_on)("PILE-B1", 1)
        await sync_to_async(fault_on)("PILE-B1", 2)
        seqs = [(await next_alert(ws))["seq"] for _ in range(4)]
        await ws.close()
        assert await sync_to_async(lambda: list(AlertRecord.objects.values_list("pk", flat=True)))() == seqs[2:]

        ws = await websockets.connect(f"{url}/ws/alerts/?token={token}&after={seqs[0]}", origin=ORIGIN, open_timeout=10)
        got = await messages_until(ws, "replayed")
        assert got[1] == {"type": "gap", "after": seqs[0], "first": seqs[2]}
        assert [m["alert"]["seq"] for m in got if m["type"] == "alert"] == seqs[2:]
        # a cursor ahead of the history (the node's database was replaced): reset to the history's newest
        await ws.send(json.dumps({"type": "subscribe", "after": seqs[3] + 100}))
        got = await messages_until(ws, "replayed")
        assert [m["type"] for m in got] == ["subscribed", "reset", "replayed"]
        assert got[1] == {"type": "reset", "after": seqs[3] + 100, "seq": seqs[3]}
        await ws.send(json.dumps({"type": "subscribe", "after": "-1"}))
        assert json.loads(await ws.recv())["type"] == "error"
        await ws.send(json.dumps({"type": "subscribe", "after": True}))
        assert json.loads(await ws.recv())["type"] == "error"
        await ws.close()
        for bad in ("x", "-3", "1.5"):
            with pytest.raises(websockets.exceptions.InvalidStatus):
                await websockets.connect(f"{url}/ws/alerts/?token={token}&after={bad}", origin=ORIGIN, open_timeout=10)

    with live_server() as url:
        asyncio.run(scenario(url))


def test_alerts_published_during_reconnects_arrive_once_in_order(world):
    """A publisher keeps numbering alerts while subscribers reconnect with their cursor: every
    subscriber sees each seq exactly once, contiguous, whether it came replayed or live."""
    token = new_token("reg_manager")
    total = 60
    pile = Pile.objects.select_related("station__operator", "station__grid_area__owner").get(code="PILE-A1")
    payload = {"connector_id": 1, "kind": "status", "severity": "minor", "detected_at": at(0).isoformat()}
    published = []

    def publisher():
        from django.db import connection

        try:
            for i in range(total):
                published.append(alert_fanout.publish(alerts.build(phase="reported", tx_id=f"race-{i}", pile=pile,
                                                                   payload=payload))["seq"])
        finally:
            connection.close()

    async def follow(url, cursor, stop_after):
        """Reconnect every few alerts, passing the cursor; return every seq received."""
        received = []
        while len(received) < stop_after:
            ws = await websockets.connect(f"{url}/ws/alerts/?token={token}&after={cursor}", origin=ORIGIN, open_timeout=10)
            taken = 0
            while taken < 7 and len(received) < stop_after:
                message = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if message["type"] == "alert":
                    received.append(message["alert"]["seq"])
                    cursor = message["alert"]["seq"]
                    taken += 1
                elif message["type"] == "replayed":
                    cursor = max(cursor, message["seq"])
            await ws.close()
        return received

    async def scenario(url):
        base = await sync_to_async(lambda: alert_history.replay(None, lambda a: True).upto)()
        thread = threading.Thread(target=publisher)
        thread.start()
        try:
            results = await asyncio.gather(follow(url, base, total), follow(url, base, total))
        finally:
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 60)
        assert published == list(range(published[0], published[0] + total)) and published[0] > base
        for received in results:
            assert received == published

    with live_server() as url:
        asyncio.run(scenario(url))


def test_webhook_deliveries_carry_the_alerts_seq(world, settings):
    from monitoring.models import WebhookDelivery
    from monitoring.services import webhooks
    from tests.monitoring.test_webhooks import Receiver

    settings.OUTBOUND_ALLOW = ["127.0.0.1"]  # the test's receiver, on this machine
    with Receiver([]) as receiver:
        webhooks.webhook_create(actor=world.users["reg_manager"], url=receiver.url)
        fault()
        [record] = AlertRecord.objects.all()
        [delivery] = WebhookDelivery.objects.all()
        webhooks.attempt(delivery.pk)
        _, body = receiver.requests[-1]
    sent = json.loads(body)["alert"]
    assert sent["seq"] == record.pk and {**record.alert, "seq": record.pk} == sent
