"""Alerts over a real websocket (the `websockets` client) from a live uvicorn: a fault arrives as
"reported" at once and "confirmed" with its block height; other operators hear nothing; tokens work;
anonymous subscribers are refused."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.test import Client

from ledger.chain.block import ZERO_HASH
from ledger.chain.lightclient import Anchor, verify_receipt
from ledger.models import Block
from ledger.runtime import node
from monitoring import ingest
from tests.gateway.live import live_server
from tests.monitoring.helpers import at
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ORIGIN = "http://localhost"


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def new_token(username) -> str:
    from registry import services
    from registry.models import User

    _, key = services.api_token_create(actor=User.objects.get(username=username), name=f"{username} ws")
    return key


async def subscribe(url, path="/ws/alerts/", **kwargs):
    # A browser page of this node sends the node's own origin (scheme, host and port).
    ws = await websockets.connect(url + path, origin=url.replace("ws://", "http://"), open_timeout=10, **kwargs)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "subscribed" and isinstance(hello["seq"], int)
    ws.hello = hello
    return ws


async def next_alert(ws, timeout=10):
    message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert message["type"] == "alert"
    return message["alert"]


async def silent(ws, seconds=1.0) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


def fault():
    ingest.record_status(pile_code="PILE-A1", connector_id=1, status="Faulted", error_code="OverVoltage",
                         info="L1 at 280 V", timestamp=at(0), source="ocpp1.6")


def test_reported_then_confirmed_and_isolation(world):
    users = world.users
    a_cookie = session_cookie(users["a_manager"])
    b_token = new_token("b_manager")
    grid2_token = new_token("grid2_manager")
    reg_token = new_token("reg_manager")

    async def scenario(url):
        operator = await subscribe(url, additional_headers={"Cookie": a_cookie})
        other = await subscribe(url + "", f"/ws/alerts/?token={b_token}")
        other_grid = await subscribe(url, subprotocols=["pilechain.alerts", f"token.{grid2_token}"])
        assert other_grid.subprotocol == "pilechain.alerts"
        regulator = await subscribe(url, additional_headers={"Authorization": f"Token {reg_token}"})
        minor_only = await subscribe(url, f"/ws/alerts/?token={reg_token}&severities=minor")
        by_pile = await subscribe(url, f"/ws/alerts/?token={reg_token}&piles=pile-a1&phases=confirmed")

        await sync_to_async(fault)()
        reported = await next_alert(operator)
        assert reported["phase"] == "reported" and reported["height"] is None
        assert (reported["pile"], reported["severity"], reported["kind"]) == ("PILE-A1", "critical", "status")
        assert reported["seq"] > operator.hello["seq"]
        assert (await next_alert(regulator))["phase"] == "reported"

        block = await sync_to_async(commit_pending)()
        confirmed = await next_alert(operator)
        assert confirmed["phase"] == "confirmed" and confirmed["height"] == block.height
        assert confirmed["id"] == reported["id"] and confirmed["work_order"]
        assert confirmed["seq"] > reported["seq"]  # each alert (reported, then confirmed) numbered as it left
        # the receipt ties the report to the block: checked from headers alone, as a light client would
        headers = await sync_to_async(lambda: [(b.header, b.certificate) for b in Block.objects.order_by("height")])()
        validators = node.consortium().validators()
        assert verify_receipt(validators, Anchor.genesis(ZERO_HASH), headers, confirmed["receipt"]).ok
        assert confirmed["receipt"]["tx_id"] == confirmed["tx_id"]
        assert (await next_alert(regulator))["phase"] == "confirmed"
        assert (await next_alert(by_pile))["phase"] == "confirmed"  # its filter skipped "reported"

        assert await silent(other), "another operator's subscriber heard of PILE-A1"
        assert await silent(other_grid), "another grid company's subscriber heard of PILE-A1"
        assert await silent(minor_only), "a severity filter let a critical alert through"
        for ws in (operator, other, other_grid, regulator, minor_only, by_pile):
            await ws.close()

    with live_server() as url:
        asyncio.run(scenario(url))


def test_anonymous_and_bad_tokens_refused(world):
    async def scenario(url):
        for path, kwargs in (("/ws/alerts/", {}), ("/ws/alerts/?token=nope", {}),
                             ("/ws/alerts/", {"subprotocols": ["pilechain.alerts", "token.nope"]})):
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                await websockets.connect(url + path, origin=ORIGIN, open_timeout=10, **kwargs)
            assert refused.value.response.status_code == 403

    with live_server() as url:
        asyncio.run(scenario(url))


def test_revoked_token_refused_and_filters_validated(world):
    from registry import services
    from registry.models import ApiToken

    key = new_token("a_manager")

    async def scenario(url):
        ws = await subscribe(url, f"/ws/alerts/?token={key}")
        position = ws.hello["seq"]  # the newest alert this node had numbered when the subscriber joined
        await ws.send(json.dumps({"type": "subscribe", "colour": ["red"]}))
        assert json.loads(await ws.recv())["type"] == "error"
        await ws.send(json.dumps({"type": "subscribe", "piles": ["PILE-A1"], "severities": "critical,major"}))
        assert json.loads(await ws.recv()) == {"type": "subscribed", "seq": position,
                                               "filters": {"piles": ["PILE-A1"], "severities": ["critical", "major"]}}
        await ws.close()
        await sync_to_async(lambda: services.api_token_revoke(actor=world.users["a_manager"], token=ApiToken.objects.get()))()
        with pytest.raises(websockets.exceptions.InvalidStatus):
            await websockets.connect(f"{url}/ws/alerts/?token={key}", origin=ORIGIN, open_timeout=10)

    with live_server() as url:
        asyncio.run(scenario(url))
