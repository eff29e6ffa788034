"""The live path between real node processes (issue #17): four nodes (web, Celery worker, beat),
the demo registry, one charge point talking OCPP 1.6 to the operator's gateway.

- the operator's node dies halfway (web and worker killed right after the gateway answered) and
  comes back: every status change reaches the other members once, none lost, none twice;
- a member stopped while two thousand events passed catches up when it returns (in events, not
  wall-clock minutes), and says meanwhile how far behind it is;
- the agreed intervals (issue #18, intervals of 10 s here): after the operator's reports, every node
  holds the same state root and answers the same uptime to the second and the same area load, a
  member stopped while several intervals passed included.

The run command's test (test_run_command.py) shows both operators' piles reaching the regulator's,
the grid company's and the metrology institute's nodes, and a disconnection shown offline there.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os

import pytest
import websockets
from ocpp.v16 import call as call16

from config.localnet import FOUR_NODES, LocalNet, parse_specs
from tests.gateway.pile_clients import Pile16
from tests.processes import free_port, login, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.consortium]

PILE = "LIVE-P1"
INTERVAL_S = 10
STATUSES = ("Available", "Preparing", "Charging", "SuspendedEV", "Finishing")


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("live")
    env = dict(os.environ)
    env.update(PILECHAIN_INTERVAL_CHECK_S="2", PILECHAIN_INTERVAL_DELAY_S="1")
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/lp{os.getpid()}_{{node}}"
    specs = parse_specs(FOUR_NODES, free_port())
    for spec in specs[1:]:
        spec.port = free_port()
    local = LocalNet(specs, var_dir=var_dir, base_env=env, worker_concurrency=4, intervals={"length_s": INTERVAL_S})
    local.prepare()
    local.start()
    try:
        local.wait_healthy(timeout=120)
        local.seed_demo()
        local.password = _admit_pile(local)
        yield local
    finally:
        local.stop()
        local.drop_databases()


def _url(net, code: str) -> str:
    return net.nodes[code].spec.url


def _admit_pile(net) -> str:
    operator = _url(net, "OPERATOR-A")
    s = login(operator, "operator_a")
    headers = {"X-CSRFToken": s.cookies["csrftoken"], "Referer": operator + "/"}
    r = s.post(f"{operator}/api/piles/", json={
        "station": "SHA-ZJ-PR", "code": PILE, "kind": "dc", "rated_power_kw": "60", "status": "active",
        "commissioned_on": "2025-06-01", "connectors": [{"connector_id": 1, "standard": "gbt_dc"},
                                                         {"connector_id": 2, "standard": "gbt_dc"}]},
        headers=headers, timeout=30)
    assert r.status_code == 202, r.text[:500]
    for code in net.nodes:  # registered on the ledger: every member knows the pile
        wait_for(lambda: _count(net, code, f"Pile.objects.filter(code='{PILE}').count()") == 1, timeout=90,
                 what=f"{PILE} at {code}")
    r = s.post(f"{operator}/api/gateway/piles/{PILE}/credential/", json={}, headers=headers, timeout=30)
    assert r.status_code == 201, r.text[:500]
    return r.json()["password"]


def _count(net, code: str, expression: str) -> int:
    """A number read from a node's own database (its models, as its shell sees them)."""
    out = net.manage(net.nodes[code].spec, "shell", "-v", "0", "-c",
                     "from registry.models import Pile; from monitoring.models import StatusEvent, LiveLink; "
                     f"print({expression})").stdout
    return int(out.strip().splitlines()[-1])


def _statuses(net, code: str) -> int:
    return _count(net, code, f"StatusEvent.objects.filter(pile__code='{PILE}').count()")


def _duplicates(net, code: str) -> str:
    """The status events of the pile that share a connector and time, as the node holds them."""
    return net.manage(net.nodes[code].spec, "shell", "-v", "0", "-c",
                      "from collections import Counter; from monitoring.models import StatusEvent\n"
                      f"rows = list(StatusEvent.objects.filter(pile__code='{PILE}').values_list('id', 'connector_id', 'ts', 'status', 'received_at'))\n"
                      "twice = {k for k, n in Counter((r[1], r[2]) for r in rows).items() if n > 1}\n"
                      "print(len(rows), [r for r in rows if (r[1], r[2]) in twice])").stdout.strip()


def _distinct_statuses(net, code: str) -> int:
    return _count(net, code, f"len(set(StatusEvent.objects.filter(pile__code='{PILE}').values_list('connector_id', 'ts')))")


async def _send_statuses(net, count: int, start: dt.datetime) -> None:
    """`count` status changes, each with its own time, each answered before the next is sent."""
    port = net.nodes["OPERATOR-A"].spec.port
    auth = base64.b64encode(f"{PILE}:{net.password}".encode()).decode()
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{PILE}", subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": f"Basic {auth}"}) as ws:
        pile = Pile16(PILE, ws)
        runner = asyncio.create_task(pile.start())
        boot = await pile.call(call16.BootNotification(charge_point_vendor="Test", charge_point_model="Live"))
        assert boot.status == "Accepted"
        for i in range(count):
            at = (start + dt.timedelta(milliseconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            await pile.call(call16.StatusNotification(connector_id=1 + i % 2, error_code="NoError",
                                                      status=STATUSES[i % len(STATUSES)], timestamp=at))
        runner.cancel()


def _ingest_statuses(net, count: int, start: dt.datetime) -> None:
    """`count` status changes through the gateway's own entry point (monitoring.ingest), in one
    process at the operator's node: thousands in seconds, where an OCPP client waits for each answer."""
    net.manage(net.nodes["OPERATOR-A"].spec, "shell", "-v", "0", "-c",
               "import datetime as dt; from monitoring import ingest\n"
               f"start = dt.datetime.fromisoformat('{start.isoformat()}')\n"
               f"for i in range({count}):\n"
               f"    ingest.record_status(pile_code='{PILE}', connector_id=1 + i % 2, status={STATUSES!r}[i % {len(STATUSES)}],"
               " error_code='', info='', timestamp=start + dt.timedelta(milliseconds=i), source='ocpp1.6')\n")


def _start(net, code: str) -> None:
    net.start_web(code)
    net.start_worker(code)
    net.wait_healthy(timeout=120)


def _live_status(net, code: str, user: str) -> dict:
    session = login(_url(net, code), user)
    return session.get(f"{_url(net, code)}/api/monitoring/live/status/", timeout=10).json()


def _applied(net, code: str, user: str) -> int:
    """How far `code`'s node has applied OPERATOR-A's events (its live status, over HTTP)."""
    rows = [r for r in _live_status(net, code, user)["receiving"] if r["peer"] == "OPERATOR-A"]
    return rows[0]["applied"] if rows else 0


MEMBERS = {"REGULATOR": "regulator", "GRID": "grid", "METROLOGY": "metrology"}


def test_the_operators_node_dying_halfway_loses_no_event_and_repeats_none(net):
    before = _statuses(net, "OPERATOR-A")
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    asyncio.run(_send_statuses(net, 200, start))
    # Killed at once: the forwarder may be mid-batch, members may not have answered yet.
    net.kill("OPERATOR-A", "worker")
    net.kill("OPERATOR-A", "web")
    stored = _statuses(net, "OPERATOR-A")
    assert stored == before + 200
    _start(net, "OPERATOR-A")
    # Every event the dead node committed is numbered once its forwarder has run again.
    status = wait_for(lambda: (s := _live_status(net, "OPERATOR-A", "operator_a"))["unnumbered"] == 0 and s or None,
                      timeout=60, what="the outbox numbered")
    head = status["head"]
    assert head >= 200
    for code, user in MEMBERS.items():
        wait_for(lambda: _applied(net, code, user) >= head or None, timeout=180, what=f"{code} applying the events")
        assert (_statuses(net, code), _distinct_statuses(net, code)) == (stored, stored), (code, _duplicates(net, code),
                                                                                              _duplicates(net, "OPERATOR-A"))


def test_a_member_stopped_while_thousands_of_events_passed_catches_up(net):
    net.kill("GRID", "worker")
    net.kill("GRID", "web")
    try:
        before = _live_status(net, "OPERATOR-A", "operator_a")["head"]
        start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2)
        _ingest_statuses(net, 2000, start)
        stored = _statuses(net, "OPERATOR-A")
        head = wait_for(lambda: _live_status(net, "OPERATOR-A", "operator_a")["head"] >= before + 2000 or None,
                        timeout=60, what="the events numbered") and _live_status(net, "OPERATOR-A", "operator_a")["head"]
        wait_for(lambda: _applied(net, "REGULATOR", "regulator") >= head or None, timeout=180,
                 what="the regulator up to date")
        # The operator's node knows how far behind the stopped member is.
        status = _live_status(net, "OPERATOR-A", "operator_a")
        behind = {row["peer"]: row["behind"] for row in status["sending"]}
        assert behind["GRID"] >= 2000 and behind["REGULATOR"] == 0, status
    finally:
        _start(net, "GRID")
    wait_for(lambda: _applied(net, "GRID", "grid") >= head or None, timeout=180, what="the grid company caught up")
    assert _statuses(net, "GRID") == _distinct_statuses(net, "GRID") == stored
    [source] = [row for row in _live_status(net, "GRID", "grid")["receiving"] if row["peer"] == "OPERATOR-A"]
    assert source["behind"] == 0 and source["refused"] == 0, source


USERS = {"OPERATOR-A": "operator_a", **MEMBERS}


_sessions: dict = {}


def _get(net, code: str, path: str, params=None) -> dict:
    session = _sessions.get((id(net), code)) or _sessions.setdefault((id(net), code), login(_url(net, code), USERS[code]))
    response = session.get(f"{_url(net, code)}{path}", params=params, timeout=30)
    assert response.status_code == 200, (code, path, response.text[:300])
    return response.json()


def _intervals_reported(net, code: str) -> int:
    out = net.manage(net.nodes[code].spec, "shell", "-v", "0", "-c",
                     "from monitoring.models import ConnectorDay; from django.db.models import Sum\n"
                     f"print(ConnectorDay.objects.filter(pile__code='{PILE}', connector_id=1).aggregate(n=Sum('intervals'))['n'] or 0)"
                     ).stdout
    return int(out.strip().splitlines()[-1])


def test_every_node_agrees_on_the_intervals_a_stopped_member_included(net):
    net.kill("GRID", "worker")
    net.kill("GRID", "web")
    try:
        asyncio.run(_send_statuses(net, 5, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)))
        before = _intervals_reported(net, "OPERATOR-A")
        # Several intervals pass and are reported while the grid company's node is down.
        wait_for(lambda: _intervals_reported(net, "OPERATOR-A") >= before + 4 or None, timeout=120,
                 what="four more intervals reported")
    finally:
        _start(net, "GRID")
    net.kill("OPERATOR-A", "beat")  # no new reports: the nodes can settle on one height
    try:
        wait_for(lambda: _get(net, "OPERATOR-A", "/api/ledger/status/")["pending_submissions"] == 0 or None,
                 timeout=60, what="the operator's reports committed")
        heights = {}

        def settled():
            heights.update({code: _get(net, code, "/api/ledger/status/") for code in USERS})
            return len({s["applied_height"] for s in heights.values()}) == 1 or None

        wait_for(settled, timeout=180, what="every node at the same height (the grid company caught up)")
        assert len({s["state_root"] for s in heights.values()}) == 1, heights
        assert not any(s["diverged"] for s in heights.values())
        # The same uptime to the second at every node, for the same period.
        until = dt.datetime.now(dt.timezone.utc).isoformat()
        today = dt.datetime.now(dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
        params = {"by": "connector", "pile": PILE, "from": today, "to": today, "until": until}
        answers = {code: _get(net, code, "/api/monitoring/uptime/", params)["results"] for code in USERS}
        assert answers["OPERATOR-A"] and answers["OPERATOR-A"][0]["uptime"]["reported"] >= 4 * INTERVAL_S
        assert all(rows == answers["OPERATOR-A"] for rows in answers.values()), answers
        # The grid company's area load is what the operator reported, interval by interval.
        [area] = [row["area"] for row in _get(net, "OPERATOR-A", "/api/monitoring/uptime/", {
            "by": "area", "pile": PILE, "from": today, "to": today, "until": until})["results"]]
        window = {"from": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)).isoformat(), "to": until}
        curves = {code: _get(net, code, f"/api/monitoring/areas/{area}/load-curve/", window)["results"]
                  for code in ("GRID", "OPERATOR-A")}
        assert curves["GRID"] and curves["GRID"] == curves["OPERATOR-A"]
    finally:
        net.start_beat("OPERATOR-A")
