"""The README's run command, as a newcomer starts it: no DATABASE_URL, no REDIS_URL (a SQLite file
per node, one embedded Redis server), five institution nodes (two competing operators), demo data
sent through the ledger."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import time

import pytest
import requests
import websockets
from ocpp.v16 import call as call16

from ledger.chain.block import ZERO_HASH
from ledger.chain.lightclient import Anchor, verify_receipt
from ledger.consortium import Consortium
from tests.gateway.pile_clients import Pile16
from tests.processes import ROOT, free_port, login, node_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.consortium]


def test_the_run_command_brings_up_an_embedded_consortium_that_commits(tmp_path):
    base = free_port(consecutive=5)
    ports = [base + i for i in range(5)]  # OPERATOR-A, METROLOGY, GRID, REGULATOR, OPERATOR-B
    env = node_env(DATABASE_URL=None, REDIS_URL=None, PILECHAIN_VAR_DIR=str(tmp_path), PORT=str(base),
                   PILECHAIN_CONSORTIUM=None, PILECHAIN_NODE=None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "Press Ctrl-C to stop" in log.read_text() or proc.poll() is not None,
                 timeout=400, what="the run command to finish starting")
        text = log.read_text()
        assert proc.poll() is None, text
        for port in ports:
            assert f"http://127.0.0.1:{port}/" in text, text
        assert "operator_a" in text and "operator_b" in text and "regulator" in text

        sessions = {port: login(f"http://127.0.0.1:{port}") for port in ports}

        def state():
            found = {(s.get(f"http://127.0.0.1:{p}/api/ledger/status/", timeout=10).json()["applied_height"],
                      s.get(f"http://127.0.0.1:{p}/api/ledger/status/", timeout=10).json()["state_root"])
                     for p, s in sessions.items()}
            return found.pop() if len(found) == 1 else None

        height, _ = wait_for(state, timeout=60, what="the five nodes at one height and state root")
        assert height >= 3  # areas, then stations, then piles and boxes
        # The demo piles, registered at each operator's node, are at the regulator's with their height.
        piles = sessions[ports[3]].get(f"http://127.0.0.1:{ports[3]}/api/piles/", timeout=10).json()["results"]
        assert all(p["height"] >= 1 for p in piles)
        by_operator = {}
        for p in piles:
            by_operator[p["operator"]] = by_operator.get(p["operator"], 0) + 1
        assert by_operator == {"OPERATOR-A": 6, "OPERATOR-B": 4}
        # The simulated charge points connect to the operator's gateway at once: their charging
        # sessions, recorded at the operator's node, reach the regulator's through the ledger.
        regulator = sessions[ports[3]]

        def sessions_at_regulator():
            return regulator.get(f"http://127.0.0.1:{ports[3]}/api/settlement/sessions/", timeout=10).json()["results"]

        assert wait_for(sessions_at_regulator, timeout=120, what="charging sessions at the regulator's node")
        _competing_operators_see_only_their_own_sessions(ports)
        _the_live_fleet_reaches_every_member(ports)
        _sessions_settle_alike_at_every_node(sessions, ports)
        for port in ports:
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        assert (tmp_path / "OPERATOR-A" / "db.sqlite3").exists()  # embedded mode: a file per node

        _a_fault_travels_from_a_pile_to_every_node(sessions, ports, tmp_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, log.read_text()[-3000:]
    time.sleep(0.5)
    for port in ports:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def _competing_operators_see_only_their_own_sessions(ports):
    """Both operators' fleets charge; every node stores every session (the ledger), but each operator's
    staff see only their own piles' sessions, while the regulator sees both."""
    regulator = login(f"http://127.0.0.1:{ports[3]}", "regulator")

    def piles_of(session, port):
        rows = session.get(f"http://127.0.0.1:{port}/api/settlement/sessions/", params={"page_size": 500},
                           timeout=10).json()["results"]
        return {row["pile"] for row in rows}

    def both_at_regulator():
        seen = piles_of(regulator, ports[3])
        return seen if any(p.startswith("SHA-") for p in seen) and any(p.startswith("SHB-") for p in seen) else None

    wait_for(both_at_regulator, timeout=180, what="both operators' sessions at the regulator's node")
    a, b = login(f"http://127.0.0.1:{ports[0]}", "operator_a"), login(f"http://127.0.0.1:{ports[4]}", "operator_b")
    own_a = wait_for(lambda: piles_of(a, ports[0]), timeout=60, what="operator A's sessions at its node")
    own_b = wait_for(lambda: piles_of(b, ports[4]), timeout=60, what="operator B's sessions at its node")
    assert own_a and all(p.startswith("SHA-") for p in own_a), own_a
    assert own_b and all(p.startswith("SHB-") for p in own_b), own_b


def _the_live_fleet_reaches_every_member(ports):
    """Both operators' charge points report their connectors' status and meters to their own
    gateway; the live path carries them to the regulator's, the grid company's and the metrology
    institute's nodes within seconds (each state says which operator's node reported it), while
    each operator's staff still see only their own piles' live state."""

    def live_state(session, port):
        rows = session.get(f"http://127.0.0.1:{port}/api/monitoring/state/", timeout=10).json()["results"]
        return {(row["pile"][:3], row["source"]) for row in rows if row["status"]}

    expected = {("SHA", "OPERATOR-A"), ("SHB", "OPERATOR-B")}
    for port, user in ((ports[3], "regulator"), (ports[2], "grid"), (ports[1], "metrology")):
        session = login(f"http://127.0.0.1:{port}", user)
        wait_for(lambda: expected <= live_state(session, port) or None, timeout=60,
                 what=f"both operators' live state at {user}'s node")
    a, b = login(f"http://127.0.0.1:{ports[0]}", "operator_a"), login(f"http://127.0.0.1:{ports[4]}", "operator_b")
    assert {prefix for prefix, _ in live_state(a, ports[0])} == {"SHA"}
    # OPERATOR-B's node stores OPERATOR-A's live state (the table's "members"), and shows its staff none of it.
    assert {prefix for prefix, _ in live_state(b, ports[4])} == {"SHB"}
    status = requests.get(f"http://127.0.0.1:{ports[3]}/api/monitoring/live/status/", timeout=10,
                          cookies=login(f"http://127.0.0.1:{ports[3]}", "regulator").cookies).json()
    # Only the operators' nodes have piles to report; the regulator has applied events of both.
    assert {r["peer"] for r in status["receiving"]} == {"OPERATOR-A", "OPERATOR-B"}, status
    assert all(r["applied"] > 0 and r["refused"] == 0 for r in status["receiving"]), status


def _sessions_settle_alike_at_every_node(sessions, ports):
    """The fleet's closed sessions enter the totals at every node alike: the same reason held and the
    same Wh per period and band at every node, and every node applied the block after the closing one,
    whose header commits to the state root after it (a node whose totals differed would have stopped
    as diverged)."""
    regulator = f"http://127.0.0.1:{ports[3]}"

    def closed_session():
        rows = sessions[ports[3]].get(f"{regulator}/api/settlement/sessions/?status=closed", timeout=10).json()["results"]
        return rows[0] if rows else None

    closed = wait_for(closed_session, timeout=240, what="a closed charging session at the regulator's node")
    assert closed["parts"] and sum(closed["parts"].values()) == closed["energy_wh"], closed

    def past_the_close():
        statuses = [sessions[p].get(f"http://127.0.0.1:{p}/api/ledger/status/", timeout=10).json() for p in ports]
        assert not any(s["diverged"] for s in statuses), [s["diverged_reason"] for s in statuses]
        return all(s["applied_height"] > closed["closed_height"] + 1 for s in statuses)

    wait_for(past_the_close, timeout=120, what="every node past the block after the closing one")
    for port in ports:
        seen = sessions[port].get(f"http://127.0.0.1:{port}/api/settlement/sessions/{closed['uid']}/", timeout=10).json()
        assert {k: seen[k] for k in ("held_reason", "parts", "energy_wh", "closed_height")} == {
            k: closed[k] for k in ("held_reason", "parts", "energy_wh", "closed_height")}, port


def _a_fault_travels_from_a_pile_to_every_node(sessions, ports, var_dir):
    """A new pile admitted at the operator's node connects to its gateway over OCPP 1.6 and reports
    a fault: the operator's subscribers hear it at once ("reported"), the regulator's node pushes it
    when it applies the block ("confirmed"), the receipt verifies against the grid company's headers,
    and the work order it opened is at the regulator's node."""
    operator, grid, regulator = (f"http://127.0.0.1:{ports[i]}" for i in (0, 2, 3))
    s_op = login(operator, "operator_a")  # the operator's own manager: piles' passwords are theirs
    r = s_op.post(f"{operator}/api/piles/", json={
        "station": "SHA-ZJ-PR", "code": "E2E-P1", "kind": "ac", "rated_power_kw": "7", "status": "active",
        "commissioned_on": "2025-06-01", "connectors": [{"connector_id": 1, "standard": "gbt_ac"}]},
        headers=_csrf(s_op, operator), timeout=30)
    assert r.status_code == 202, r.text[:500]
    wait_for(lambda: s_op.get(f"{operator}/api/piles/E2E-P1/", timeout=10).status_code == 200, timeout=60,
             what="the pile admitted at the operator's node")
    r = s_op.post(f"{operator}/api/gateway/piles/E2E-P1/credential/", json={}, headers=_csrf(s_op, operator),
                  timeout=30)
    assert r.status_code == 201, r.text[:500]
    password = r.json()["password"]

    async def scenario():
        local = await _subscribe(operator, s_op)
        remote = await _subscribe(regulator, sessions[ports[3]])
        live_at = {port: await _subscribe(f"http://127.0.0.1:{port}", sessions[port], stream="live")
                   for port in (ports[2], ports[3])}
        auth = base64.b64encode(f"E2E-P1:{password}".encode()).decode()
        async with websockets.connect(f"ws://127.0.0.1:{ports[0]}/ocpp/E2E-P1", subprotocols=["ocpp1.6"],
                                      additional_headers={"Authorization": f"Basic {auth}"}) as ws:
            pile = Pile16("E2E-P1", ws)
            runner = asyncio.create_task(pile.start())
            boot = await pile.call(call16.BootNotification(charge_point_vendor="Test", charge_point_model="E2E"))
            assert boot.status == "Accepted"
            await pile.call(call16.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted"))
            reported = await _alert(local, "reported")
            # The live path: the regulator's and the grid company's nodes see the status in seconds.
            for ws in live_at.values():
                event = await _live(ws, "status")
                assert (event["status"], event["source"], event["operator"]) == ("Faulted", "OPERATOR-A", "OPERATOR-A")
            confirmed = await _alert(remote, "confirmed")
            runner.cancel()
        for ws in live_at.values():  # the pile hung up: offline at the other members' nodes
            assert (await _live(ws, "conn"))["online"] is False
            await ws.close()
        await local.close()
        await remote.close()
        return reported, confirmed

    reported, confirmed = asyncio.run(scenario())
    assert reported["pile"] == confirmed["pile"] == "E2E-P1"
    assert confirmed["height"] >= 1 and confirmed["receipt"]["height"] == confirmed["height"]
    definition = Consortium.load(var_dir / "consortium.json")
    # The grid company's node may store the block a moment after the regulator's confirmed it.
    def headers_to_the_receipt():
        rows = sessions[ports[2]].get(f"{grid}/api/ledger/blocks/", params={"limit": 500}, timeout=30).json()["results"]
        return rows if any(h["height"] >= confirmed["height"] for h in rows) else None

    headers = wait_for(headers_to_the_receipt, timeout=30, what="the receipt's block at the grid company's node")
    chain = [(h["header"], h["certificate"]) for h in headers if h["height"] <= confirmed["height"]]
    assert verify_receipt(definition.validators(), Anchor.genesis(ZERO_HASH), chain, confirmed["receipt"]).ok

    def work_order():
        return sessions[ports[3]].get(f"{regulator}/api/monitoring/work-orders/", params={"pile": "E2E-P1"},
                                      timeout=10).json()["results"]

    assert wait_for(work_order, timeout=60, what="the work order at the regulator's node")


def _csrf(session: requests.Session, url: str) -> dict:
    return {"X-CSRFToken": session.cookies["csrftoken"], "Referer": url + "/"}


async def _subscribe(url: str, session: requests.Session, stream: str = "alerts"):
    ws = await websockets.connect(url.replace("http", "ws") + f"/ws/{stream}/?piles=E2E-P1", origin=url,
                                  additional_headers={"Cookie": f"sessionid={session.cookies['sessionid']}"},
                                  open_timeout=20)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert hello["type"] == "subscribed", hello
    return ws


async def _live(ws, kind: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if message.get("type") == "live":
            for event in message["live"]["events"]:
                if event["kind"] == kind:
                    return event


async def _alert(ws, phase: str) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if message.get("type") == "alert" and message["alert"]["phase"] == phase:
            return message["alert"]
