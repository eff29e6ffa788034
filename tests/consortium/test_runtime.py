"""Four institution nodes as real processes (web, Celery worker of concurrency 4, beat), each with
its own database, agreeing over real HTTP. In CI they run on PostgreSQL and Redis; locally on
SQLite files and one embedded Redis server.

The scenarios run in order on one consortium, each leaving it healthy for the next.
"""

from __future__ import annotations

import os
import secrets
import struct
import time
import uuid
from collections import Counter

import pytest
import requests

from config.localnet import FOUR_NODES, LocalNet, parse_specs
from ledger.chain.block import BlockHeader, CommitCertificate
from ledger.chain.crypto import SigningKey
from ledger.chain.lightclient import Anchor, LightClient, Receipt
from ledger.chain.block import ZERO_HASH
from ledger.chain.tx import Transaction
from ledger.consortium import Consortium
from ledger.pbft import messages
from tests.consortium.fault_files import DROP_REQUESTS, dropped_requests, faults_dir
from tests.processes import free_port, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.consortium]

PASSWORD = "consortium-test-pw-1"
TICK_S = 0.05  # PILECHAIN_TICK_MS
REQUEST_TIMEOUT_S = 160 * TICK_S  # request_timeout_ticks of the local tuning (ledger local-consortium)
VIEW_CHANGE_TIMEOUT_S = 80 * TICK_S  # view_change_timeout_ticks


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("consortium")
    env = dict(os.environ)
    # The contract that fails on purpose at one node (tests/consortium/faults.py), and a node that
    # cannot apply a block retrying every second at most and alerting after 3 s.
    env.update(PILECHAIN_TEST_HOOKS="tests.consortium.faults", PILECHAIN_APPLY_RETRY_MAX_S="1",
               PILECHAIN_APPLY_ALERT_AFTER_S="3")
    if env.get("DATABASE_URL"):
        # One PostgreSQL server, one database per node, derived from the node's code.
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/ct{os.getpid()}_{{node}}"
    base = free_port()
    specs = parse_specs(FOUR_NODES, base)  # two operators do not matter here: four nodes keep CI short
    for i, spec in enumerate(specs):  # four free ports, not necessarily consecutive
        spec.port = base if i == 0 else free_port()
    local = LocalNet(specs, var_dir=var_dir, base_env=env, worker_concurrency=4)
    local.prepare()
    for spec in specs:
        local.manage(spec, "shell", "-v", "0", "-c",
                     "from registry.models import User; "
                     f"User.objects.create_superuser('tester', 'tester@example.org', '{PASSWORD}')")
    local.start()
    try:
        local.wait_healthy(timeout=120)
        yield local
    finally:
        local.stop()
        local.drop_databases()


def _session(url: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    r = s.post(f"{url}/accounts/login/", data={"username": "tester", "password": PASSWORD,
                                               "csrfmiddlewaretoken": s.cookies["csrftoken"]},
               headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    assert r.status_code in (200, 302) and "sessionid" in s.cookies, r.text[:500]
    s.headers["X-CSRFToken"] = s.cookies["csrftoken"]
    s.headers["Referer"] = url + "/"
    return s


@pytest.fixture(scope="module")
def sessions(net):
    made = {}
    for code, node in net.nodes.items():
        made[code] = _session(node.spec.url)
        made[code].url_base = node.spec.url
    return made


@pytest.fixture(scope="module")
def definition(net):
    return Consortium.load(net.var_dir / "consortium.json")


def node_key(net, code: str) -> SigningKey:
    return SigningKey.from_pem((net.var_dir / code / "keys" / "node-signing.pem").read_bytes())


def signed_txs(net, definition, code: str, n: int, type: str = "ledger.noop") -> list[dict]:
    key = node_key(net, code)
    return [
        Transaction.create(chain_id=definition.chain_id, type=type, payload={"n": i, "run": uuid.uuid4().hex},
                           signer=f"node:{code}", key=key, nonce=secrets.token_hex(8)).to_dict()
        for i in range(n)
    ]


def status(sessions, code: str) -> dict:
    return sessions[code].get(sessions[code].url_base + "/api/ledger/status/", timeout=10).json()


def submit(sessions, code: str, txs: list[dict]) -> list[dict]:
    r = sessions[code].post(sessions[code].url_base + "/api/ledger/transactions/", json=txs, timeout=30)
    assert r.status_code == 202, r.text[:1000]
    return r.json()


def committed_everywhere(sessions, tx_ids: list[str], codes=None) -> bool:
    for code in codes or sessions:
        for tx_id in tx_ids:
            body = sessions[code].get(f"{sessions[code].url_base}/api/ledger/transactions/{tx_id}/", timeout=10)
            if body.status_code != 200 or body.json().get("receipt") is None:
                return False
    return True


def agreed_state(sessions, codes=None) -> tuple[int, str] | None:
    """(height, state root) when every given node has applied the same height with the same root."""
    seen = {(s["applied_height"], s["state_root"]) for s in (status(sessions, c) for c in (codes or sessions))}
    return seen.pop() if len(seen) == 1 else None


def test_all_four_nodes_commit_the_same_blocks(net, sessions, definition):
    txs = signed_txs(net, definition, "OPERATOR-A", 20)
    results = submit(sessions, "OPERATOR-A", txs)
    assert {r["status"] for r in results} == {"pending"}
    ids = [r["tx_id"] for r in results]
    wait_for(lambda: committed_everywhere(sessions, ids), timeout=60, what="commit at all four nodes")
    height, root = wait_for(lambda: agreed_state(sessions), timeout=30, what="the same height and state root")
    assert height >= 1

    # Resubmitting returns what is known, never a second copy.
    again = submit(sessions, "METROLOGY", txs[:3])
    assert [r["tx_id"] for r in again] == ids[:3]
    assert all(r["status"] in ("applied", "rejected", "pending") for r in again)

    # No contract handles ledger.noop: committed, as rejected with the reason, at every node.
    receipt = sessions["GRID"].get(f"{net.nodes['GRID'].spec.url}/api/ledger/transactions/{ids[0]}/").json()
    assert receipt["status"] == "rejected" and "no contract" in receipt["reason"]


def replicas(sessions, codes) -> dict:
    """What each node's status page says of its replica (for failure messages)."""
    out = {}
    for code in codes:
        try:
            body = status(sessions, code)
            out[code] = {"applied": body["applied_height"], **body["replica"]}
        except (requests.RequestException, ValueError, KeyError) as exc:
            out[code] = repr(exc)
    return out


def _api_write(sessions, code: str, path: str, body: dict) -> str:
    r = sessions[code].post(sessions[code].url_base + path, json=body, timeout=30)
    assert r.status_code == 202, r.text[:1000]
    assert r.json()["status"] == "pending"
    return r.json()["tx_id"]


def test_a_registration_at_the_operator_node_is_visible_everywhere_at_the_same_height(net, sessions):
    """Grid area at the grid company's node, station and pile at the operator's: every node ends
    with the same rows, the same block height on them, and the same state root."""
    area = _api_write(sessions, "GRID", "/api/grid-areas/",
                      {"owner": "GRID", "code": "CT-AREA", "name": "Test area", "capacity_kw": "500"})
    wait_for(lambda: committed_everywhere(sessions, [area], ["GRID", "OPERATOR-A"]), timeout=60, what="the area")
    station = _api_write(sessions, "OPERATOR-A", "/api/stations/", {
        "operator": "OPERATOR-A", "code": "CT-ST", "name": "Test station", "address": "1 Test Road, Shanghai",
        "latitude": "31.2", "longitude": "121.5", "grid_area": "CT-AREA"})
    wait_for(lambda: committed_everywhere(sessions, [station], ["OPERATOR-A"]), timeout=60, what="the station")
    pile = _api_write(sessions, "OPERATOR-A", "/api/piles/", {
        "station": "CT-ST", "code": "CT-PILE-1", "kind": "ac", "rated_power_kw": "7", "status": "planned",
        "connectors": [{"connector_id": 1, "standard": "gbt_ac"}],
        "keys": [{"public_key": SigningKey.generate().public_key.hex, "kind": "ed25519"}]})
    wait_for(lambda: committed_everywhere(sessions, [pile]), timeout=60, what="the pile at all four nodes")

    seen = {}
    for code in net.nodes:
        body = sessions[code].get(f"{sessions[code].url_base}/api/piles/CT-PILE-1/", timeout=10).json()
        receipt = sessions[code].get(f"{sessions[code].url_base}/api/ledger/transactions/{pile}/", timeout=10).json()
        assert receipt["status"] == "applied", receipt
        seen[code] = (body["height"], body["station"], body["operator"], receipt["block_height"])
    assert len(set(seen.values())) == 1, seen
    height = next(iter(seen.values()))[0]
    assert height >= 1
    wait_for(lambda: agreed_state(sessions), timeout=30, what="the same height and state root")

    # The same registration again is refused at once by the dry run, and nothing is sent.
    again = sessions["OPERATOR-A"].post(sessions["OPERATOR-A"].url_base + "/api/piles/", json={
        "station": "CT-ST", "code": "ct-pile-1", "kind": "ac", "rated_power_kw": "7"}, timeout=30)
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"], again.text[:500]


def test_authority_is_checked_by_the_contract_on_every_node(net, sessions, definition):
    key = node_key(net, "REGULATOR")
    payload = {"kind": "telemetry", "root": "ab" * 32, "count": 3}
    regulator = Transaction.create(chain_id=definition.chain_id, type="ledger.anchor", payload=payload,
                                   signer="node:REGULATOR", key=key, nonce=secrets.token_hex(8)).to_dict()
    operator = Transaction.create(chain_id=definition.chain_id, type="ledger.anchor", payload=payload,
                                  signer="node:OPERATOR-A", key=node_key(net, "OPERATOR-A"),
                                  nonce=secrets.token_hex(8)).to_dict()
    ids = [r["tx_id"] for r in submit(sessions, "REGULATOR", [regulator, operator])]
    wait_for(lambda: committed_everywhere(sessions, ids), timeout=60, what="commit")
    for code in net.nodes:
        refused = sessions[code].get(f"{net.nodes[code].spec.url}/api/ledger/transactions/{ids[0]}/").json()
        assert refused["status"] == "rejected"
        assert refused["reason"] == "a regulator institution may not do ledger.anchor"
        applied = sessions[code].get(f"{net.nodes[code].spec.url}/api/ledger/transactions/{ids[1]}/").json()
        assert applied["status"] == "applied"


def test_a_receipt_from_one_node_verifies_against_headers_from_another(net, sessions, definition):
    txs = signed_txs(net, definition, "METROLOGY", 3)
    ids = [r["tx_id"] for r in submit(sessions, "METROLOGY", txs)]
    wait_for(lambda: committed_everywhere(sessions, ids), timeout=60, what="commit")
    found = sessions["METROLOGY"].get(f"{net.nodes['METROLOGY'].spec.url}/api/ledger/transactions/{ids[1]}/").json()
    receipt = Receipt.from_dict(found["receipt"])

    headers = sessions["REGULATOR"].get(
        f"{net.nodes['REGULATOR'].spec.url}/api/ledger/blocks/", params={"from_height": 1, "limit": 500}
    ).json()["results"]
    client = LightClient(definition.validators(), Anchor.genesis(ZERO_HASH))
    verdict = client.extend((BlockHeader.from_dict(h["header"]), CommitCertificate.from_dict(h["certificate"]))
                            for h in headers if h["height"] <= receipt.height)
    assert verdict.ok, verdict.reason
    assert client.verify_receipt(receipt).ok

    # The same receipt moved to another index does not verify.
    forged = Receipt.from_dict({**receipt.to_dict(), "index": (receipt.index + 1) % receipt.tx_count})
    assert receipt.tx_count == 1 or not client.verify_receipt(forged).ok


def _batch(wires: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(w)) + w for w in wires)


def test_the_peer_endpoint_refuses_forged_malformed_and_replayed_messages(net, sessions, definition):
    url = net.nodes["GRID"].spec.url + "/ledger/peer/"
    before = status(sessions, "GRID")["dropped_total"]

    garbage = requests.post(url, data=b"\x00\x00\x00\x10short", timeout=10)
    assert garbage.status_code == 400

    stranger = SigningKey.generate()
    body = {"t": "status", "chain": definition.chain_id, "from": "METROLOGY", "view": 0, "active": True,
            "height": 0, "stable": 0}
    forged = messages.sign(stranger, body).wire  # claims METROLOGY, signed by someone else
    unknown = messages.sign(stranger, {**body, "from": "NOBODY"}).wire
    not_a_message = b'{"t": "prepare"'
    r = requests.post(url, data=_batch([forged, unknown, not_a_message]), timeout=10)
    assert r.status_code == 202
    assert r.json()["accepted"] == 0
    assert r.json()["dropped"] == {"bad_signature": 1, "unknown_signer": 1, "malformed": 1}

    # Authentic but stale: a PREPARE for height 1 of view 0, long committed, sent again and again.
    metrology = node_key(net, "METROLOGY")
    stale = messages.sign(metrology, {"t": "prepare", "chain": definition.chain_id, "from": "METROLOGY",
                                      "view": 0, "height": 1, "block": "ab" * 32}).wire
    r = requests.post(url, data=_batch([stale] * 5), timeout=10)
    assert r.status_code == 202 and r.json()["accepted"] == 5  # authentic: the replica judges it

    wait_for(lambda: status(sessions, "GRID")["dropped_total"] >= before + 3 + 5, timeout=20, what="drops counted")
    # ... and the node goes on committing.
    ids = [r["tx_id"] for r in submit(sessions, "GRID", signed_txs(net, definition, "GRID", 2))]
    wait_for(lambda: committed_everywhere(sessions, ids), timeout=60, what="commit after the junk")


def test_a_killed_backup_worker_catches_up_by_state_transfer(net, sessions, definition):
    primary = status(sessions, "OPERATOR-A")["replica"]["primary"]
    backup = next(code for code in net.nodes if code != primary)
    net.kill(backup, "worker")  # kill -9 of the whole worker process group
    others = [c for c in net.nodes if c != backup]
    ids = []
    for _ in range(5):  # load while it is down: enough blocks to pass a checkpoint (K = 8)
        ids += [r["tx_id"] for r in submit(sessions, primary, signed_txs(net, definition, primary, 10))]
        time.sleep(0.3)
    wait_for(lambda: committed_everywhere(sessions, ids, others), timeout=60, what="the others committing")
    for _ in range(10):
        more = [r["tx_id"] for r in submit(sessions, primary, signed_txs(net, definition, primary, 1))]
        try:
            wait_for(lambda: committed_everywhere(sessions, more, others), timeout=30, what="commit")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; replicas: {replicas(sessions, others)}") from None
    ahead = status(sessions, primary)["applied_height"]

    net.start_worker(backup)
    wait_for(lambda: status(sessions, backup)["applied_height"] >= ahead, timeout=90, what="the backup catching up")
    wait_for(lambda: agreed_state(sessions), timeout=30, what="agreement after catching up")


def test_a_killed_primary_worker_gives_way_to_a_view_change(net, sessions, definition):
    # The primary the quorum follows: a replica that timed out alone may sit in a later view by itself.
    views = Counter((r["view"], r["primary"]) for r in (status(sessions, c)["replica"] for c in net.nodes))
    (view, primary), _ = views.most_common(1)[0]
    net.kill(primary, "worker")
    others = [c for c in net.nodes if c != primary]
    started = time.monotonic()
    ids = [r["tx_id"] for r in submit(sessions, others[0], signed_txs(net, definition, others[0], 5))]
    wait_for(lambda: committed_everywhere(sessions, ids, others), timeout=120, what="commits after the view change")
    elapsed = time.monotonic() - started
    # Progress without the old primary needs a new view: with n = 4 a commit needs all three others,
    # so each of them is active in a later view whose primary is not the dead one (status pages are
    # written once a second, hence the wait).
    def moved():
        replicas = {c: status(sessions, c)["replica"] for c in others}
        return replicas if all(r["view"] > view and r["view_active"] for r in replicas.values()) else None

    replicas = wait_for(moved, timeout=15, what="the three others active in a later view")
    assert all(r["primary"] != primary for r in replicas.values()), (primary, view, replicas)
    assert len({(r["view"], r["primary"]) for r in replicas.values()}) == 1, replicas
    # The request timer fires, then commits resume within four view-change timeouts.
    assert elapsed < REQUEST_TIMEOUT_S + 4 * VIEW_CHANGE_TIMEOUT_S, elapsed

    net.start_worker(primary)
    wait_for(lambda: agreed_state(sessions), timeout=90, what="the old primary agreeing again")


def test_requests_a_backup_lost_on_the_way_to_a_dead_primary_are_sent_again_and_committed(net, sessions, definition):
    """Forward, then suspect (issue #15). The primary's worker is dead, and a backup loses every request
    it forwards (tests/consortium/faults.py drops them on the way out) until the test has seen all of
    them dropped. Nobody else holds the requests then, so nobody else's request timer runs: the
    backup must send them to every replica again when its own timer expires (instead of suspecting
    the primary alone, in a view change no one joins), after which the others time out on them too,
    change view away from the dead primary and commit them. Before, the requests waited for the
    backup's next driver restart (every 240 s) at best; a replica that only suspects stalls here."""
    views = Counter((r["view"], r["primary"]) for r in (status(sessions, c)["replica"] for c in net.nodes))
    (view, primary), _ = views.most_common(1)[0]
    live = [c for c in net.nodes if c != primary]
    backup = live[0]
    drop = faults_dir(net.var_dir, backup) / DROP_REQUESTS
    drop.parent.mkdir(parents=True, exist_ok=True)
    before = dropped_requests(net.var_dir, backup)
    net.kill(primary, "worker")
    drop.touch()
    try:
        ids = [r["tx_id"] for r in submit(sessions, backup, signed_txs(net, definition, backup, 5))]
        started = time.monotonic()
        # Each request goes to each of the three other replicas: fifteen messages lost.
        wait_for(lambda: dropped_requests(net.var_dir, backup) >= before + 5 * (len(net.nodes) - 1), timeout=30,
                 what=f"{backup} dropping its first forward of each request to every peer")
    finally:
        drop.unlink(missing_ok=True)
    assert not any(committed_everywhere(sessions, [i], [c]) for i in ids for c in live)  # lost, not late

    # The backup's request timer expires: it sends its pending requests to all, whose timers start then;
    # each of them forwards once more at its first expiry and suspects the primary at the next, and
    # a new view commits the requests. Well within the backup's next driver restart (up to 240 s).
    bound = 3 * REQUEST_TIMEOUT_S + 4 * VIEW_CHANGE_TIMEOUT_S + 20
    try:
        wait_for(lambda: committed_everywhere(sessions, ids, live), timeout=bound,
                 what=f"the requests {backup} lost on the way committed at {', '.join(live)} within {bound:.0f} s: "
                      f"{backup} sending them again to every replica when its request timer expires, then a view "
                      f"change away from {primary}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; replicas: {replicas(sessions, live)}") from None
    elapsed = time.monotonic() - started

    def moved():  # status pages are written once a second
        now = {c: status(sessions, c)["replica"] for c in live}
        return now if all(r["view"] > view and r["primary"] != primary for r in now.values()) else None

    wait_for(moved, timeout=15, what="the three live replicas in a later view without the dead primary")

    net.start_worker(primary)
    wait_for(lambda: agreed_state(sessions), timeout=90, what="the old primary agreeing again")
    assert elapsed < bound


def _faults_dir(net, code: str):
    """Where the nodes' contract tests.fault looks for its orders (tests/consortium/faults.py)."""
    return faults_dir(net.var_dir, code)


def _quorum_primary(sessions) -> str:
    views = Counter((r["view"], r["primary"]) for r in (status(sessions, c)["replica"] for c in sessions))
    return views.most_common(1)[0][0][1]


def _fault_tx(net, definition, signer: str, victim: str, mode: str) -> dict:
    return Transaction.create(chain_id=definition.chain_id, type="tests.fault",
                              payload={"victim": victim, "mode": mode, "reference": uuid.uuid4().hex},
                              signer=f"node:{signer}", key=node_key(net, signer), nonce=secrets.token_hex(8)).to_dict()


def _outcomes(sessions, tx_id: str) -> dict:
    """Each node's (status, reason) of a transaction; None where it has no receipt yet (404: it does
    not know the transaction yet), and "HTTP <code>" where the node answered anything else (so a
    failure says which node and how)."""
    found = {}
    for code in sessions:
        body = sessions[code].get(f"{sessions[code].url_base}/api/ledger/transactions/{tx_id}/", timeout=10)
        if body.status_code == 404:
            found[code] = None
        elif body.status_code != 200:
            found[code] = f"HTTP {body.status_code}"
        else:
            found[code] = (body.json()["status"], body.json()["reason"]) if body.json().get("receipt") else None
    return found


def _all_outcomes(sessions, tx_id: str) -> dict | None:
    """One reading of every node's outcome, once each has a receipt."""
    found = _outcomes(sessions, tx_id)
    return found if all(isinstance(v, tuple) for v in found.values()) else None


def _health(net, code: str) -> tuple[int, dict]:
    r = requests.get(net.nodes[code].spec.url + "/healthz", timeout=10)
    return r.status_code, r.json()


def _log(net, code: str, which: str = "worker") -> str:
    return (net.var_dir / code / "log" / f"{which}.log").read_text(errors="replace")


def test_a_node_whose_database_fails_while_applying_a_block_retries_and_agrees_afterwards(net, sessions, definition):
    """Before, the failing node committed the transaction as rejected ("contract error:
    OperationalError: ...") while the others applied it, and diverged at the next block. Now it
    applies nothing, retries, says so (status, /healthz, an alert after PILECHAIN_APPLY_ALERT_AFTER_S),
    and once its database answers again applies the block as everyone did."""
    primary = _quorum_primary(sessions)
    victim = next(code for code in net.nodes if code != primary)
    others = [c for c in net.nodes if c != victim]
    hold = _faults_dir(net, victim) / "hold"
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.touch()
    try:
        [result] = submit(sessions, primary, [_fault_tx(net, definition, primary, victim, "hold")])
        tx_id = result["tx_id"]
        wait_for(lambda: committed_everywhere(sessions, [tx_id], others), timeout=60, what="the others applying it")

        def retrying():
            apply = status(sessions, victim)["apply"]
            return apply if apply["state"] == "retrying" and apply["attempts"] >= 2 else None

        apply = wait_for(retrying, timeout=60, what=f"{victim} retrying the block")
        assert (apply["stage"], apply["kind"], apply["error"], apply["tx_id"]) == (
            "apply", "operational", "OperationalError", tx_id), apply
        assert "No space left on device" in apply["detail"] and apply["since"] and apply["next_attempt_at"]
        assert _outcomes(sessions, tx_id)[victim] is None  # no verdict of its own, ever
        code, body = _health(net, victim)
        assert body["checks"]["ledger"]["state"] == "retrying", body

        # Past the bound: the alert, and /healthz says the node is down.
        code, body = wait_for(lambda: (h := _health(net, victim))[0] == 503 and h, timeout=30,
                              what=f"{victim} /healthz 503 after the alert bound")
        assert body["checks"]["ledger"]["alerted"] and body["checks"]["database"]["ok"], body
        assert '"code": "apply_stalled"' in _log(net, victim)
        assert all(_health(net, c)[0] == 200 for c in others)
    finally:
        hold.unlink(missing_ok=True)

    outcomes = wait_for(lambda: _all_outcomes(sessions, tx_id), timeout=90, what=f"{victim} applying the block")
    assert set(outcomes.values()) == {("applied", "")}, outcomes
    wait_for(lambda: agreed_state(sessions), timeout=60, what="the same height and state root at all four")
    assert status(sessions, victim)["apply"] == {"state": "ok"}
    wait_for(lambda: _health(net, victim)[0] == 200, timeout=30, what=f"{victim} /healthz 200 again")
    assert '"phase": "resolved"' in _log(net, victim)


def _terminate_connections(net, code: str) -> int:
    names = dict(zip([s.code for s in net.specs], net._database_names()))
    server = net._server()
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [names[code]])
            return sum(1 for (done,) in cursor.fetchall() if done)
    finally:
        server.close()


def test_a_node_whose_database_connections_are_terminated_mid_block_recovers_and_agrees(net, sessions, definition):
    """pg_terminate_backend of every connection of one node's database while that node is halfway
    through applying a block: its block transaction is gone, nothing of it stays, and it applies the
    block again on a new connection."""
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("PostgreSQL only (pg_terminate_backend); the embedded mode is covered by the fault above")
    primary = _quorum_primary(sessions)
    victim = next(code for code in net.nodes if code != primary)
    [result] = submit(sessions, primary, [_fault_tx(net, definition, primary, victim, "terminate")])
    tx_id = result["tx_id"]
    here = _faults_dir(net, victim)
    wait_for(lambda: (here / f"{tx_id}.waiting").exists(), timeout=60, what=f"{victim} halfway through the block")
    try:
        assert _terminate_connections(net, victim) >= 1
    finally:
        (here / f"{tx_id}.go").touch()

    outcomes = wait_for(lambda: _all_outcomes(sessions, tx_id), timeout=90, what="the block applied at all four")
    assert set(outcomes.values()) == {("applied", "")}, outcomes
    wait_for(lambda: agreed_state(sessions), timeout=60, what="the same height and state root at all four")
    assert "cannot apply block" in _log(net, victim)
    assert status(sessions, victim)["apply"] == {"state": "ok"}


def test_a_row_changed_with_raw_sql_is_found_by_the_audit(net, sessions, definition):
    payload = {"kind": "document", "root": "cd" * 32, "count": 1, "reference": "audit-me"}
    tx = Transaction.create(chain_id=definition.chain_id, type="ledger.anchor", payload=payload,
                            signer="node:GRID", key=node_key(net, "GRID"), nonce=secrets.token_hex(8)).to_dict()
    [result] = submit(sessions, "GRID", [tx])
    wait_for(lambda: committed_everywhere(sessions, [result["tx_id"]]), timeout=60, what="commit")
    victim = net.nodes["REGULATOR"].spec
    assert net.manage(victim, "ledger", "audit", check=False).returncode == 0

    tampered = net.manage(victim, "shell", "-v", "0", "-c",
                          "from django.db import connection; c = connection.cursor(); "
                          "c.execute(\"UPDATE ledger_anchor SET count = 7 WHERE reference = 'audit-me'\"); "
                          "print(c.rowcount)")
    assert tampered.stdout.strip() == "1"
    audit = net.manage(victim, "ledger", "audit", check=False)
    assert audit.returncode != 0
    body = status(sessions, "REGULATOR")
    assert body["diverged"] and "audit" in body["diverged_reason"]
    others = [c for c in net.nodes if c != "REGULATOR"]
    assert all(not status(sessions, c)["diverged"] for c in others)
