"""One consortium on two database backends: OPERATOR-A and REGULATOR on PostgreSQL (a database each
on the server of the test's DATABASE_URL), METROLOGY and GRID on SQLite (a file each under the
consortium's var/<node>/), all four sharing the test's Redis (REDIS_URL when set, else the embedded
server). Contracts run on every node for every block and must write the same bytes whatever the
database: the demo data, a short run of the simulated fleet, and a settlement period with a subsidy
claim go through the ledger, then the four nodes must stand at one height with one state root, none
diverged, each passing its audit, and answer the same statement and claim rows. On the way, a
transaction with U+0000 in a string, which a SQLite node could store and a PostgreSQL node cannot,
is refused where it is submitted.

The period is the previous calendar month in the consortium's time zone: over by block time, so it
can be closed and claimed; its sessions come from a charge point over OCPP with their own (past)
start and stop times. On a chain started today no pile was verified before that month, so its
sessions are held (`unverified`, then `never_online` in the claim) and the money is zero: what the
nodes must agree on is the Wh per band and reason, the prices, the exclusions and the statuses.

Needs PostgreSQL (DATABASE_URL); without it (the embedded test mode) it is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import requests
import websockets
from ocpp.v16 import call as call16

from config.localnet import FOUR_NODES, LocalNet, parse_specs
from tests.gateway.pile_clients import Pile16
from tests.processes import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.consortium]

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    pytest.skip("a mixed consortium needs a PostgreSQL server for two of its nodes: set DATABASE_URL "
                "(postgres://user@host:5432/name; each PostgreSQL node gets a database of its own there)",
                allow_module_level=True)

POSTGRES_NODES = ("OPERATOR-A", "REGULATOR")
SQLITE_NODES = ("METROLOGY", "GRID")
DEMO_PASSWORD = "pilechain-demo"  # registry/management/commands/seed_demo.py

AREA = "SH-PD-ZJ"  # the grid company's area of the operator's Zhangjiang station
OTHER_AREA = "SH-JA-NJW"  # the operator closes this one itself
FLEET_PILES = ("SHA-JA-DC01", "SHA-ZJ-AC01")  # the first two active piles by code: simulate_fleet's pick
WINDOWS = [
    {"from": "00:00", "to": "08:00", "band": "valley"},
    {"from": "08:00", "to": "10:00", "band": "flat"},
    {"from": "10:00", "to": "15:00", "band": "peak"},
    {"from": "15:00", "to": "18:00", "band": "flat"},
    {"from": "18:00", "to": "21:00", "band": "peak"},
    {"from": "21:00", "to": "24:00", "band": "flat"},
]
PRICES = {"peak": "1.08200", "flat": "0.67400", "valley": "0.31600"}


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("mixed")
    env = dict(os.environ)
    # The PostgreSQL nodes: one database each on the test's server, named after the node.
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/mx{os.getpid()}_{{node}}"
    base = free_port()
    specs = parse_specs(FOUR_NODES, base)  # two operators do not matter here: four nodes keep CI short
    for i, spec in enumerate(specs):  # four free ports, not necessarily consecutive
        spec.port = base if i == 0 else free_port()
    local = LocalNet(specs, var_dir=var_dir, base_env=env, worker_concurrency=4,
                     node_env={code: {"DATABASE_URL": None} for code in SQLITE_NODES})
    try:
        local.prepare()
        local.start()
        local.wait_healthy(timeout=120)
        local.seed_demo()
        yield local
    except RuntimeError as exc:
        if len(exc.args) > 1:
            local.explain(exc.args[1])
        raise
    finally:
        local.stop()
        local.drop_databases()


def _login(url: str, username: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    r = s.post(f"{url}/accounts/login/", data={"username": username, "password": DEMO_PASSWORD,
                                               "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    assert r.status_code in (200, 302) and "sessionid" in s.cookies, (url, username, r.text[:300])
    s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
    s.headers["Referer"] = url + "/"
    s.url_base = url
    return s


@pytest.fixture(scope="module")
def admins(net):
    """The platform administrator at each node (reads: sees every row of its own node)."""
    return {code: _login(node.spec.url, "admin") for code, node in net.nodes.items()}


@pytest.fixture(scope="module")
def staff(net):
    """Each institution's demo manager at its own node (writes: signed by that institution)."""
    users = {"OPERATOR-A": "operator_a", "METROLOGY": "metrology", "GRID": "grid", "REGULATOR": "regulator"}
    return {code: _login(net.nodes[code].spec.url, users[code]) for code in net.nodes}


def get(s: requests.Session, path: str, **params):
    r = s.get(s.url_base + path, params=params, timeout=30)
    assert r.status_code == 200, (s.url_base, path, r.status_code, r.text[:500])
    return r.json()


def write(s: requests.Session, path: str, body: dict) -> str:
    """A write of the API: 202 with the transaction; returns its id."""
    r = s.post(s.url_base + path, json=body, timeout=30)
    assert r.status_code == 202, (s.url_base, path, r.status_code, r.text[:1000])
    return r.json()["tx_id"]


def applied_everywhere(admins, tx_ids) -> bool:
    """Every transaction committed and applied at every node (a rejection fails at once)."""
    for code, s in admins.items():
        for tx_id in tx_ids:
            r = s.get(f"{s.url_base}/api/ledger/transactions/{tx_id}/", timeout=10)
            if r.status_code != 200 or r.json().get("receipt") is None:
                return False
            assert r.json()["status"] == "applied", (code, r.json())
    return True


def wait_applied(admins, tx_ids, what: str, timeout: float = 90):
    wait_for(lambda: applied_everywhere(admins, tx_ids), timeout=timeout, interval=0.5, what=what)


def statuses(admins) -> dict[str, dict]:
    return {code: get(s, "/api/ledger/status/") for code, s in admins.items()}


# ---------------------------------------------------------------------------------------------------


def test_the_nodes_run_on_the_backends_they_were_given(net):
    pid_prefix = f"mx{os.getpid()}_"
    ask = "from django.db import connection; print(connection.vendor, connection.settings_dict['NAME'])"
    with ThreadPoolExecutor(4) as pool:  # each node's own settings, as its processes read them
        answers = dict(zip(net.nodes, pool.map(lambda node: net.manage(node.spec, "shell", "-v", "0", "-c", ask),
                                                net.nodes.values())))
    for code, out in answers.items():
        vendor, name = out.stdout.split()
        if code in POSTGRES_NODES:
            assert (vendor, name) == ("postgresql", pid_prefix + code.lower().replace("-", "_")), (code, out.stdout)
        else:
            assert (vendor, name) == ("sqlite", str(net.var_dir / code / "db.sqlite3")), (code, out.stdout)
    # prepare() made databases for the PostgreSQL nodes only.
    assert sorted(net._database_names()) == sorted(pid_prefix + c.lower().replace("-", "_") for c in POSTGRES_NODES)


def test_demo_data_fleet_and_a_claimed_period_end_with_one_state_root(net, admins, staff):
    started = time.monotonic()
    tz = ZoneInfo(json.loads((net.var_dir / "consortium.json").read_text())["rules"]["time_zone"])
    this_month = dt.datetime.now(tz).date().replace(day=1)
    period_start = (this_month - dt.timedelta(days=1)).replace(day=1)
    period = period_start.strftime("%Y-%m")
    before = (period_start - dt.timedelta(days=1)).replace(day=1)  # the month before the period

    # The demo registry reached every node.
    for code, s in admins.items():
        assert len(get(s, "/api/piles/")["results"]) == 6, code

    # A string with U+0000 is refused at a SQLite node, which could store it: PostgreSQL nodes cannot
    # (text, jsonb), and once in a block they would fail on storing it while the SQLite nodes went on.
    r = staff["GRID"].post(staff["GRID"].url_base + "/api/ledger/transactions/", json={
        "type": "ledger.anchor", "payload": {"kind": "document", "root": "ab" * 32, "count": 1,
                                             "reference": "nul\u0000here"}}, timeout=30)
    assert r.status_code == 400 and "U+0000" in r.text, (r.status_code, r.text[:500])

    # The fleet: two simulated charge points at the operator's gateway (one OCPP 1.6 with signed
    # meter values, one 2.0.1), short sessions, a fault every other session or so.
    net.start_fleet("OPERATOR-A", piles=2, meter_interval=2, fault_rate=0.5)
    fleet_started = dt.datetime.now(dt.timezone.utc)

    # Meanwhile the prices of the period, each institution at its own node: the grid company's
    # tariff for the area from before the period, the operator's service fee, the regulator's policy.
    tariff = write(staff["GRID"], "/api/settlement/tariffs/", {
        "area": AREA, "valid_from": before.isoformat(), "windows": WINDOWS, "prices": PRICES})
    fee = write(staff["OPERATOR-A"], "/api/settlement/service-fees/", {
        "valid_from": before.isoformat(), "per_kwh": "0.80000"})
    _publish_policy(staff["REGULATOR"], valid_from=before.strftime("%Y-%m"))
    wait_applied(admins, [tariff, fee], "the tariff and the service fee at every node")
    wait_for(lambda: all(len(get(s, "/api/subsidy/policies/")) == 1 for s in admins.values()), timeout=90,
             interval=0.5, what="the subsidy policy at every node")

    # Sessions of the period, from a charge point over OCPP with their own start and stop times: a
    # DC pile's two connectors (one session crossing into this month) and the dedicated AC pile.
    local = lambda day, hour, minute=0: dt.datetime.combine(period_start.replace(day=day), dt.time(hour, minute), tz)
    last_day = (this_month - dt.timedelta(days=1)).day
    charged = {
        "SHA-ZJ-DC01": [(1, local(3, 9, 30), local(3, 11), 1_200_000, 45_000),
                        (2, local(12, 7), local(12, 8, 30), 800_000, 30_000),
                        (1, local(last_day, 23), dt.datetime.combine(this_month, dt.time(1), tz), 1_245_000, 20_000)],
        "SHA-ZJ-AC02": [(1, local(20, 18), local(20, 20), 52_000, 12_000)],
    }
    port = net.nodes["OPERATOR-A"].spec.port
    for pile, sessions in charged.items():
        r = staff["OPERATOR-A"].post(f"{staff['OPERATOR-A'].url_base}/api/gateway/piles/{pile}/credential/",
                                     json={}, timeout=30)
        assert r.status_code == 201, r.text[:500]
        asyncio.run(_charge(port, pile, r.json()["password"], sessions))

    def period_sessions(s):
        rows = [row for pile in charged for row in get(s, "/api/settlement/sessions/", pile=pile)["results"]]
        return sorted(rows, key=lambda row: row["uid"])

    def period_closed_everywhere():
        return all(len([r for r in period_sessions(s) if r["status"] == "closed"]) == 4 for s in admins.values())

    wait_for(period_closed_everywhere, timeout=90, interval=0.5, what="the period's four sessions closed at every node")

    # What the fleet did reached every node through the ledger: closed sessions, a fault and the
    # anchoring of its telemetry.
    def fleet_everywhere():
        for s in admins.values():
            for pile in FLEET_PILES:
                closed = get(s, "/api/settlement/sessions/", pile=pile, status="closed")["results"]
                if not closed:
                    return False
            if not any(get(s, "/api/monitoring/faults/", pile=pile)["results"] for pile in FLEET_PILES):
                return False
        return True

    wait_for(fleet_everywhere, timeout=150, interval=1, what="the fleet's closed sessions and a fault at every node")
    anchor = wait_for(lambda: _anchored_reading(staff["OPERATOR-A"], FLEET_PILES[0], since=fleet_started),
                      timeout=90, interval=1, what="a reading of the fleet anchored on the ledger")
    wait_applied(admins, [anchor], "the telemetry anchor at every node")
    net.kill("OPERATOR-A", "fleet", signal.SIGTERM)

    # The period closed: the grid company's area meter and closing of its area, the operator's
    # closing of the other area where it has piles.
    meter = write(staff["GRID"], "/api/settlement/area-meters/", {"area": AREA, "period": period, "energy_wh": 110_000})
    wait_applied(admins, [meter], "the area meter at every node")
    closings = [write(staff["GRID"], "/api/settlement/closings/", {"area": AREA, "period": period}),
                write(staff["OPERATOR-A"], "/api/settlement/closings/", {"area": OTHER_AREA, "period": period})]
    wait_applied(admins, closings, "the closings at every node")
    [statement] = get(admins["GRID"], "/api/settlement/statements/", area=AREA, period=period)["results"]
    # Each party's node computes the statement hash from its own rows and signs it: a PostgreSQL
    # node and a SQLite node must compute the same hash for the statement to be confirmed.
    confirms = [write(staff[code], f"/api/settlement/statements/{statement['uid']}/confirm/", {})
                for code in ("OPERATOR-A", "GRID")]
    wait_applied(admins, confirms, "both confirmations at every node")

    # The operator's claim for every pile of the period, then the regulator's decision: approve the
    # public DC pile, reject the rest.
    claim_tx = write(staff["OPERATOR-A"], "/api/subsidy/claims/", {"period": period})
    wait_applied(admins, [claim_tx], "the claim at every node")
    [claim] = get(admins["REGULATOR"], "/api/subsidy/claims/", period=period)["results"]
    decisions = [
        write(staff["REGULATOR"], f"/api/subsidy/claims/{claim['uid']}/decision/", {
            "decision": "approve", "piles": ["SHA-ZJ-DC01"], "reason": "sessions checked",
            "payment_due_on": (this_month + dt.timedelta(days=45)).isoformat()}),
        write(staff["REGULATOR"], f"/api/subsidy/claims/{claim['uid']}/decision/", {
            "decision": "reject", "reason": "no energy eligible in the period"}),
    ]
    wait_applied(admins, decisions, "the decisions at every node")

    # One height and one state root at all four nodes, each answering for itself.
    def agreed():
        seen = statuses(admins)
        assert {code: body["node"] for code, body in seen.items()} == {code: code for code in seen}
        assert not any(body["diverged"] for body in seen.values()), {c: b["diverged_reason"] for c, b in seen.items()}
        roots = {(body["applied_height"], body["state_root"]) for body in seen.values()}
        return roots.pop() if len(roots) == 1 else None

    height, root = wait_for(agreed, timeout=60, interval=0.3, what="one height and state root at all four nodes")
    assert height > 0 and len(root) == 64

    # The same rows at every node: the period's sessions, statements and the claim, as the API answers.
    views = {code: _settled(s, period, [r["uid"] for r in period_sessions(s)]) for code, s in admins.items()}
    reference = views["OPERATOR-A"]
    for code in SQLITE_NODES + ("REGULATOR",):
        assert views[code] == reference, code
    _check_the_period(reference, period)

    # Each node's audit recomputes the state digest from its own tables (the SQLite files and the
    # PostgreSQL databases as stored, not the contracts' rows in memory) and compares it with the chain.
    with ThreadPoolExecutor(4) as pool:
        audits = dict(zip(net.nodes, pool.map(lambda node: net.manage(node.spec, "ledger", "audit", check=False),
                                              net.nodes.values())))
    for code, result in audits.items():
        assert result.returncode == 0, (code, result.stdout[-2000:], result.stderr[-2000:])
    assert not any(body["diverged"] for body in statuses(admins).values())
    print(f"mixed consortium: height {height}, state root {root}, {time.monotonic() - started:.0f} s after seeding")


def _publish_policy(s: requests.Session, *, valid_from: str) -> None:
    """The regulator's subsidy policy, through its page's form (the API reads policies only)."""
    url = f"{s.url_base}/subsidy/policies/"
    r = s.post(url, data={
        "valid_from": valid_from, "per_kwh_cny": "0.2000", "construction_per_kw_cny": "100.00",
        "min_availability": "0.900000", "cap_per_pile_year_cny": "5000.00", "cap_per_operator_year_cny": "100000.00",
        "note": "mixed backends", "csrfmiddlewaretoken": s.cookies["csrftoken"]}, allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[:2000]  # the form redisplays with its errors otherwise


async def _charge(port: int, pile: str, password: str, sessions) -> None:
    """A 1.6 charge point reporting sessions with their own times (it was offline then, say)."""
    auth = base64.b64encode(f"{pile}:{password}".encode()).decode()
    utc = lambda moment: moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{pile}", subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": f"Basic {auth}"}, open_timeout=20) as ws:
        cp = Pile16(pile, ws)
        runner = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(call16.BootNotification(charge_point_vendor="pilechain", charge_point_model="MIXED"))
            assert boot.status == "Accepted", boot
            for connector, start, stop, meter_start, wh in sessions:
                opened = await cp.call(call16.StartTransaction(connector_id=connector, id_tag="MIXED-1",
                                                               meter_start=meter_start, timestamp=utc(start)))
                assert opened.id_tag_info["status"] == "Accepted", (pile, opened)
                await cp.call(call16.StopTransaction(meter_stop=meter_start + wh, timestamp=utc(stop),
                                                     transaction_id=opened.transaction_id, reason="Local"))
        finally:
            runner.cancel()


def _anchored_reading(s: requests.Session, pile: str, *, since: dt.datetime) -> str | None:
    """The anchor transaction of the pile's first reading since `since`, once that is committed."""
    rows = get(s, "/api/monitoring/readings/", pile=pile, measurand="Energy.Active.Import.Register",
               **{"from": since.isoformat(), "to": (since + dt.timedelta(hours=2)).isoformat(), "limit": 1})["results"]
    if not rows:
        return None
    proof = get(s, f"/api/monitoring/readings/{rows[0]['id']}/proof/")
    if proof["status"] != "committed":
        return None
    assert proof["leaf_matches"], proof
    return proof["anchor_receipt"]["tx_id"]


def _settled(s: requests.Session, period: str, session_uids: list[str]) -> dict:
    """What a node answers about the period: its sessions, statements and claims, in full."""
    statements = get(s, "/api/settlement/statements/", period=period)["results"]
    claims = get(s, "/api/subsidy/claims/", period=period)["results"]
    return {
        "sessions": [get(s, f"/api/settlement/sessions/{uid}/") for uid in session_uids],
        "statements": [get(s, f"/api/settlement/statements/{row['uid']}/") for row in statements],
        "claims": [get(s, f"/api/subsidy/claims/{row['uid']}/") for row in claims],
    }


def _check_the_period(view: dict, period: str) -> None:
    """What the rows say, so that agreeing on them means agreeing on something."""
    sessions = view["sessions"]
    assert len(sessions) == 4 and all(r["status"] == "closed" for r in sessions), sessions
    # No pile was verified before the period (the chain began today): every session is held.
    assert {r["held_reason"] for r in sessions} == {"unverified"}, sessions
    crossing = next(r for r in sessions if r["energy_wh"] == 20_000)
    assert set(crossing["parts"]) == {f"{period}/flat", f"{_next(period)}/valley"}, crossing

    by_area = {row["area"]: row for row in view["statements"]}
    assert set(by_area) == {AREA, OTHER_AREA}, list(by_area)
    main = by_area[AREA]
    assert (main["grid"], main["operator"], main["status"]) == ("GRID", "OPERATOR-A", "confirmed"), main
    assert main["operator_hash"] == main["grid_hash"] != ""
    # Held: three whole sessions and the period's half of the one crossing into this month.
    assert main["energy_wh"] == 0 and main["excluded_wh"] == 45_000 + 30_000 + 12_000 + 10_000
    assert main["area_meter_wh"] == 110_000
    assert {(i["pile"], i["band"]) for i in main["items"]} >= {("SHA-ZJ-DC01", "peak"), ("SHA-ZJ-AC02", "peak")}
    assert {i["tariff_price"] for i in main["items"]} <= set(PRICES.values())
    assert [step["action"] for step in main["trail"]][0] == "closed"
    assert by_area[OTHER_AREA]["items"] == [] and by_area[OTHER_AREA]["trail"][0]["institution"] == "OPERATOR-A"

    [claim] = view["claims"]
    assert (claim["operator"], claim["status"], claim["policy"]) == ("OPERATOR-A", "partly_approved", 1), claim
    lines = {line["pile"]: line for line in claim["lines"]}
    assert len(lines) == 6 and lines["SHA-ZJ-DC01"]["status"] == "approved", lines
    assert {line["status"] for code, line in lines.items() if code != "SHA-ZJ-DC01"} == {"rejected"}
    held = {(e["reason"], e["energy_wh"]) for line in lines.values() for e in line["exclusions"]}
    assert ("never_online", 45_000) in held and ("never_online", 12_000) in held, held
    actions = [step["action"] for step in claim["trail"]]
    assert actions[0] == "submitted" and sorted(actions[1:]) == ["approved", "rejected"], actions


def _next(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + (month == 12)}-{month % 12 + 1:02d}"
