"""Benchmark: the local four-node consortium on this machine, end to end.

    .venv/bin/python bench/consortium.py [--saturation-tx 6000] [--offered 200] [--seconds 15]

Starts four institution nodes as real processes (web, Celery worker of concurrency 4, beat) with
their own databases: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (one database per
node), else SQLite files and one embedded Redis. Before the clock starts, a grid area, a station and
--devices piles are registered through the registry API (as transactions), and the piles' own keys
sign the benchmark's transactions: firmware attestations (registry.firmware_attest), each checked
against the pile's registered key and writing a row of the read model on every node. They are sent
through the nodes' submission API in batches. Every replica verifies every signature it relies on; verifications are
counted in every node process (PILECHAIN_COUNT_VERIFICATIONS=1), not assumed.

Prints committed tx/s at saturation, commit latency p50/p99 at a fixed offered load (from the
submission to the block being stored at the submitting node), verifications per transaction, and
the bound measured in the same run: cores x Ed25519 verifications per second on one core / the
verifications each transaction needed. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from config.localnet import FOUR_NODES, LocalNet, parse_specs  # noqa: E402
from ledger.chain.crypto import SigningKey  # noqa: E402
from ledger.chain.tx import Transaction  # noqa: E402
from ledger.consortium import Consortium  # noqa: E402

PASSWORD = "bench-password-1"
SIGNERS = ("OPERATOR-A", "METROLOGY", "GRID")  # roles that may anchor


def ed25519_verifications_per_second(seconds: float = 1.5) -> float:
    key = SigningKey.generate()
    data = b"x" * 200
    sig = key.sign(data)
    public = key.public_key
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(200):
            public.verify(sig, data)
        n += 200
    return n / (time.perf_counter() - start)


def login(url: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    s.post(f"{url}/accounts/login/", data={"username": "bench", "password": PASSWORD,
                                           "csrfmiddlewaretoken": s.cookies["csrftoken"]},
           headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    s.headers.update({"X-CSRFToken": s.cookies["csrftoken"], "Referer": url + "/"})
    return s


def register_devices(net: LocalNet, sessions: dict, n: int) -> list[tuple[str, SigningKey]]:
    """A grid area, a station and n piles with Ed25519 device keys, through the registry API."""
    def post(code: str, path: str, body: dict) -> None:
        r = sessions[code].post(net.nodes[code].spec.url + path, json=body, timeout=60)
        if r.status_code != 202:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")

    def exists(code: str, path: str) -> bool:
        return sessions[code].get(net.nodes[code].spec.url + path, timeout=30).status_code == 200

    post("GRID", "/api/grid-areas/", {"owner": "GRID", "code": "BENCH-AREA", "name": "Bench", "capacity_kw": "100000"})
    _until(lambda: exists("OPERATOR-A", "/api/grid-areas/BENCH-AREA/"), 120, "the grid area")
    post("OPERATOR-A", "/api/stations/", {"operator": "OPERATOR-A", "code": "BENCH-ST", "name": "Bench station",
                                          "address": "1 Bench Road, Shanghai", "latitude": "31.2",
                                          "longitude": "121.5", "grid_area": "BENCH-AREA"})
    _until(lambda: exists("OPERATOR-A", "/api/stations/BENCH-ST/"), 120, "the station")
    devices = []
    for i in range(n):
        key = SigningKey.generate()
        code = f"BENCH-P{i:05d}"
        post("OPERATOR-A", "/api/piles/", {"station": "BENCH-ST", "code": code, "kind": "ac", "rated_power_kw": "7",
                                           "keys": [{"public_key": key.public_key.hex, "kind": "ed25519"}]})
        devices.append((code, key))
    last = devices[-1][0]
    _until(lambda: all(exists(c, f"/api/piles/{last}/") for c in net.nodes), 300, "the piles at every node")
    return devices


def _until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.3)


def sign_all(devices: list, chain_id: str, n: int, tag: str) -> list[dict]:
    txs = []
    for i in range(n):
        code, key = devices[i % len(devices)]
        payload = {"pile": code, "firmware_version": f"{tag}-{i}", "image_sha256": secrets.token_hex(32)}
        txs.append(Transaction.create(chain_id=chain_id, type="registry.firmware_attest", payload=payload,
                                      signer=f"device:pile:{code}", key=key, nonce=f"{tag}-{i}").to_dict())
    return txs


def committed_transactions(session: requests.Session, url: str) -> int:
    try:
        return session.get(url + "/api/ledger/status/", timeout=30).json()["committed_transactions"]
    except (requests.RequestException, ValueError, KeyError):
        return -1  # a busy node may time out; ask again on the next poll


def commit_times(net: LocalNet, code: str, tag: str) -> dict[str, float]:
    """reference -> when the block holding it was stored at this node (epoch seconds)."""
    out = net.manage(net.nodes[code].spec, "shell", "-v", "0", "-c",
                     "import json; from ledger.models import Block; from registry.models import FirmwareAttestation; "
                     f"rows = FirmwareAttestation.objects.filter(firmware_version__startswith='{tag}-')"
                     ".values_list('firmware_version', 'height'); "
                     "stored = dict(Block.objects.values_list('height', 'stored_at')); "
                     "print(json.dumps({r: stored[h].timestamp() for r, h in rows}))")
    return json.loads(out.stdout)


def wait_committed(net, sessions, target: int, timeout: float) -> bool:
    """Until every node has committed (and applied) `target` transactions in all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(committed_transactions(sessions[c], n.spec.url) >= target for c, n in net.nodes.items()):
            return True
        time.sleep(0.2)
    return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saturation-tx", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--offered", type=int, default=200, help="tx/s offered in the latency phase")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--devices", type=int, default=100, help="piles whose keys sign the transactions")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops the nodes

    env = dict(os.environ, PILECHAIN_COUNT_VERIFICATIONS="1")
    if env.get("DATABASE_URL"):
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/bench{os.getpid()}_{{node}}"
    var_dir = Path(tempfile.mkdtemp(prefix="pilechain-bench-"))
    net = LocalNet(parse_specs(FOUR_NODES, 18401), var_dir=var_dir, base_env=env, worker_concurrency=4)
    print(f"preparing four nodes under {var_dir} ({'PostgreSQL' if env.get('DATABASE_URL') else 'SQLite'}, "
          f"{'Redis' if env.get('REDIS_URL') else 'embedded Redis'})", flush=True)
    net.prepare()
    for spec in net.specs:
        net.manage(spec, "shell", "-v", "0", "-c", "from registry.models import User; "
                   f"User.objects.filter(username='bench').exists() or User.objects.create_superuser('bench', '', '{PASSWORD}')")
    definition = Consortium.load(var_dir / "consortium.json")
    bound_per_core = ed25519_verifications_per_second()
    cores = os.cpu_count() or 1

    net.start()
    try:
        net.wait_healthy(timeout=120)
        sessions = {c: login(n.spec.url) for c, n in net.nodes.items()}
        print(f"registering {args.devices} piles with their keys through the ledger...", flush=True)
        devices = register_devices(net, sessions, args.devices)
        saturation = sign_all(devices, definition.chain_id, args.saturation_tx, "sat")
        latency_txs = sign_all(devices, definition.chain_id, int(args.offered * args.seconds), "lat")
        base = max(committed_transactions(sessions[c], n.spec.url) for c, n in net.nodes.items())
        time.sleep(2)
        first = net.specs[0].code
        url = net.nodes[first].spec.url + "/api/ledger/transactions/"
        counter = redis.Redis.from_url(_redis_url(env, var_dir))
        counter.set("pilechain:bench:verifications", 0)

        # --- saturation: everything as fast as the API takes it, spread over the four nodes
        start = time.perf_counter()
        for i in range(0, len(saturation), args.batch):
            code = net.specs[(i // args.batch) % len(net.specs)].code
            r = sessions[code].post(net.nodes[code].spec.url + "/api/ledger/transactions/",
                                    json=saturation[i:i + args.batch], timeout=120)
            r.raise_for_status()
        if not wait_committed(net, sessions, base + len(saturation), 600):
            print("saturation run did not complete", file=sys.stderr)
            return 1
        elapsed = time.perf_counter() - start
        tx_per_s = len(saturation) / elapsed
        time.sleep(1.5)  # let every process flush its verification count
        verifications = int(counter.get("pilechain:bench:verifications") or 0)
        per_tx = verifications / len(saturation)
        bound = cores * bound_per_core / per_tx if per_tx else float("nan")
        print(f"saturation: {len(saturation)} tx committed and applied at all 4 nodes in {elapsed:.1f} s "
              f"= {tx_per_s:.0f} tx/s; {verifications} signature verifications counted = {per_tx:.2f} per tx")

        # --- latency at a fixed offered load, submitted at one node in 20 small batches per second
        per_batch = max(1, args.offered // 20)
        submitted: dict[str, float] = {}
        t0 = time.perf_counter()
        for k, i in enumerate(range(0, len(latency_txs), per_batch)):
            due = t0 + k / 20
            time.sleep(max(0.0, due - time.perf_counter()))
            batch = latency_txs[i:i + per_batch]
            now = time.time()
            sessions[first].post(url, json=batch, timeout=60).raise_for_status()
            for tx in batch:
                submitted[tx["payload"]["firmware_version"]] = now
        achieved = len(latency_txs) / (time.perf_counter() - t0)
        if not wait_committed(net, sessions, base + len(saturation) + len(latency_txs), 300):
            print("latency run did not complete", file=sys.stderr)
            return 1
        stored = commit_times(net, first, "lat")
        latencies = sorted((stored[ref] - t) * 1000 for ref, t in submitted.items())
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        print(f"latency: offered {args.offered} tx/s (achieved {achieved:.0f}) for {args.seconds:.0f} s: "
              f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
        print(f"bound: {cores} cores x {bound_per_core:.0f} Ed25519 verifications/s / {per_tx:.2f} per tx "
              f"= {bound:.0f} tx/s; reached {tx_per_s / bound:.1%} of it")
        # Every view change is a primary given up on: under load alone there should be none.
        views = {c: sessions[c].get(n.spec.url + "/api/ledger/status/", timeout=30).json()["replica"]["view"]
                 for c, n in net.nodes.items()}
        print(f"views at the end: {views}")
        print(f"tx_per_s={tx_per_s:.0f} verifications_per_tx={per_tx:.2f} bound_tx_per_s={bound:.0f} "
              f"p50_ms={p50:.0f} p99_ms={p99:.0f} offered_tx_per_s={args.offered} "
              f"view_changes={max(views.values())}")
    finally:
        net.stop()
        net.drop_databases()
    return 0


def _redis_url(env: dict, var_dir: Path) -> str:
    if env.get("REDIS_URL"):
        return env["REDIS_URL"]
    return f"unix://{var_dir / 'redis' / 'redis.sock'}?db=0"


if __name__ == "__main__":
    sys.exit(main())
