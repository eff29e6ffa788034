"""Benchmark: the OCPP gateway of one node, inside the local four-node consortium.

    .venv/bin/python bench/gateway.py [--connections 2000] [--hold 60] [--meter-piles 200]
                                      [--meter-seconds 20] [--faults 30] [--gateway-workers 2]

Starts the four nodes (web, Celery worker, beat; PostgreSQL and Redis when DATABASE_URL / REDIS_URL
are set), seeds the demo consortium, registers the bench's piles through the ledger, and serves the
operator node's gateway (config.asgi) in uvicorn processes of its own (one node: the processes share
its database and channel layer, so a command reaches a pile whichever process holds its socket).
Then, from this process:

1. connections: that many piles connect (OCPP 1.6 and 2.0.1 alternately, HTTP Basic) and boot; once
   all have booted, each sends a Heartbeat every 10 s for `--hold` seconds (at least 60); counted are
   the piles still connected at the end whose every heartbeat, and one final one, was answered;
2. readings per second, end to end: `--meter-piles` piles send MeterValues of 10 sampled values each
   (the most the issue allows), each waiting for the answer before the next; counted are the rows
   that reached PostgreSQL (monitoring_reading) divided by the time from the first send to the last
   answer; then the wait until every one of them is anchored on the ledger (Merkle root);
3. fault-to-subscriber latency: a token subscriber on /ws/alerts/ for the fault piles; each pile sends
   a Faulted StatusNotification; timed from just before the send to the "reported" and the
   "confirmed" alert.

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import websockets  # noqa: E402

from config.localnet import FOUR_NODES, LocalNet, parse_specs  # noqa: E402
from tests.processes import free_port  # noqa: E402

OPERATOR = "OPERATOR-A"
STATION = "SHA-ZJ-PR"
PREFIX = "BENCH-"

REGISTER = """
import json, time
from datetime import date
from decimal import Decimal
from registry import services
from registry.models import Pile, User
actor = User.objects.get(username="operator_a")
n = {n}
have = set(Pile.objects.filter(code__startswith="{prefix}").values_list("code", flat=True))
for i in range(n):
    code = "{prefix}%05d" % i
    if code in have:
        continue
    services.pile_register(actor=actor, station="{station}", code=code, kind="ac", rated_power_kw=Decimal("7"),
                           status="active", commissioned_on=date(2025, 1, 1),
                           connectors=[{{"connector_id": 1, "standard": "gbt_ac"}}])
deadline = time.time() + {timeout}
while Pile.objects.filter(code__startswith="{prefix}").count() < n and time.time() < deadline:
    time.sleep(1)
print(Pile.objects.filter(code__startswith="{prefix}").count())
"""

CREDENTIALS = """
import json
from gateway.services import store_credential
from registry.models import Pile
codes = list(Pile.objects.filter(code__startswith="{prefix}").order_by("code").values_list("code", flat=True))[:{n}]
print(json.dumps({{c: store_credential(pile_code=c) for c in codes}}))
"""

TOKEN = """
from registry import services
from registry.models import User
print(services.api_token_create(actor=User.objects.get(username="operator_a"), name="bench subscriber")[1])
"""


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the gateway's uvicorn exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(2)  # let every worker process finish starting
                return
        time.sleep(0.5)
    raise RuntimeError("the gateway's uvicorn did not start")


def raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 16
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def now_iso() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def frame(unique_id: str, action: str, payload: dict) -> str:
    return json.dumps([2, unique_id, action, payload])


class Pile:
    """A minimal OCPP-J client: frames by hand (the load generator must stay cheap), answers matched
    by message id. The protocol flow is the real one; tests/gateway use the `ocpp` package."""

    def __init__(self, code: str, password: str, protocol: str):
        self.code, self.password, self.protocol = code, password, protocol
        self.ws = None
        self.pending: dict[str, asyncio.Future] = {}
        self.counter = 0
        self.reader = None

    async def connect(self, url: str):
        auth = base64.b64encode(f"{self.code}:{self.password}".encode()).decode()
        self.ws = await websockets.connect(f"{url}/ocpp/{self.code}", subprotocols=[self.protocol],
                                           additional_headers={"Authorization": f"Basic {auth}"},
                                           open_timeout=60, ping_interval=None, max_queue=None)
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        try:
            await self._read_frames()
        except websockets.ConnectionClosed:
            pass
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))

    async def _read_frames(self):
        async for message in self.ws:
            data = json.loads(message)
            if data[0] in (3, 4) and data[1] in self.pending:
                self.pending.pop(data[1]).set_result(data)
            elif data[0] == 2:  # a command from the central system: accept it
                await self.ws.send(json.dumps([3, data[1], {"status": "Accepted"}]))

    async def call(self, action: str, payload: dict, timeout: float = 60) -> list:
        self.counter += 1
        unique_id = f"{self.counter}"
        future = asyncio.get_running_loop().create_future()
        self.pending[unique_id] = future
        await self.ws.send(frame(unique_id, action, payload))
        return await asyncio.wait_for(future, timeout)

    async def boot(self) -> bool:
        if self.protocol == "ocpp1.6":
            answer = await self.call("BootNotification", {"chargePointVendor": "bench", "chargePointModel": "B16"})
        else:
            answer = await self.call("BootNotification", {"chargingStation": {"vendorName": "bench", "model": "B201"},
                                                          "reason": "PowerUp"})
        return answer[0] == 3 and answer[2].get("status") == "Accepted"

    async def heartbeat(self) -> bool:
        answer = await self.call("Heartbeat", {})
        return answer[0] == 3

    async def meter_values(self, energy_wh: int) -> bool:
        if self.protocol == "ocpp1.6":
            values = [{"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                      {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"}]
            values += [{"value": "230.1", "measurand": "Voltage", "unit": "V", "phase": p} for p in ("L1-N", "L2-N", "L3-N")]
            values += [{"value": "10.1", "measurand": "Current.Import", "unit": "A", "phase": p} for p in ("L1", "L2", "L3")]
            values += [{"value": "2333", "measurand": "Power.Active.Import", "unit": "W", "phase": p} for p in ("L1", "L2")]
            payload = {"connectorId": 1, "meterValue": [{"timestamp": now_iso(), "sampledValue": values}]}
        else:
            def v(value, measurand, unit, phase=None):
                item = {"value": value, "measurand": measurand, "unitOfMeasure": {"unit": unit}}
                return {**item, "phase": phase} if phase else item

            values = [v(energy_wh, "Energy.Active.Import.Register", "Wh"), v(7000, "Power.Active.Import", "W")]
            values += [v(230.1, "Voltage", "V", p) for p in ("L1-N", "L2-N", "L3-N")]
            values += [v(10.1, "Current.Import", "A", p) for p in ("L1", "L2", "L3")]
            values += [v(2333, "Power.Active.Import", "W", p) for p in ("L1", "L2")]
            payload = {"evseId": 1, "meterValue": [{"timestamp": now_iso(), "sampledValue": values}]}
        answer = await self.call("MeterValues", payload)
        return answer[0] == 3

    async def status(self, status: str, error: str = "") -> bool:
        if self.protocol == "ocpp1.6":
            payload = {"connectorId": 1, "status": status, "errorCode": error or "NoError", "timestamp": now_iso()}
            answer = await self.call("StatusNotification", payload)
        elif status == "Faulted":
            answer = await self.call("NotifyEvent", {"generatedAt": now_iso(), "seqNo": 0, "eventData": [{
                "eventId": 1, "timestamp": now_iso(), "trigger": "Delta", "actualValue": "Faulted",
                "eventNotificationType": "HardWiredNotification", "techCode": error,
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                "variable": {"name": "AvailabilityState"}}]})
        else:
            answer = await self.call("StatusNotification", {"timestamp": now_iso(), "connectorStatus": status,
                                                           "evseId": 1, "connectorId": 1})
        return answer[0] == 3

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


# --- phases ------------------------------------------------------------------------------------
async def hold_connections(url: str, creds: dict[str, str], hold: float, heartbeat_s: float = 10) -> tuple[int, list]:
    """Every pile connects and boots; once all have, they all keep heartbeating for `hold` seconds."""
    piles = [Pile(code, pw, "ocpp1.6" if i % 2 == 0 else "ocpp2.0.1") for i, (code, pw) in enumerate(creds.items())]
    gate = asyncio.Semaphore(50)  # handshakes in flight
    healthy: dict[str, bool] = {}
    release = asyncio.Event()

    async def life(pile: Pile):
        async with gate:
            await pile.connect(url)
            ok = await pile.boot()
        healthy[pile.code] = ok
        while healthy[pile.code] and not release.is_set():
            try:
                await asyncio.wait_for(release.wait(), heartbeat_s)
            except asyncio.TimeoutError:
                pass
            healthy[pile.code] = await pile.heartbeat() and pile.ws.close_code is None

    async def guarded(pile):
        try:
            await life(pile)
        except Exception as exc:  # counted as a failed connection
            healthy[pile.code] = False
            return f"{pile.code}: {type(exc).__name__}: {exc}"

    t0 = time.monotonic()
    tasks = [asyncio.create_task(guarded(p)) for p in piles]
    while len(healthy) < len(piles) and not all(t.done() for t in tasks):
        await asyncio.sleep(0.5)
    print(f"  {sum(healthy.values())} of {len(piles)} booted in {time.monotonic() - t0:.1f} s; all holding {hold:.0f} s",
          flush=True)
    await asyncio.sleep(hold)
    release.set()
    results = await asyncio.gather(*tasks)
    errors = [r for r in results if r]
    alive = [p for p in piles if healthy.get(p.code) and p.ws is not None and p.ws.close_code is None]
    finals = await asyncio.gather(*(p.heartbeat() for p in alive), return_exceptions=True)
    count = sum(1 for f in finals if f is True)
    return count, errors, piles


async def meter_phase(piles: list[Pile], seconds: float) -> tuple[int, float, int]:
    sent = 0
    t0 = time.monotonic()
    deadline = t0 + seconds

    async def run(pile, index):
        nonlocal sent
        energy = 1000 + index
        while time.monotonic() < deadline:
            energy += 5
            try:
                if await pile.meter_values(energy):
                    sent += 10
            except Exception as exc:  # counted by what reached the database, not by what was sent
                print(f"  {pile.code}: {type(exc).__name__}: {exc}", flush=True)
                return

    await asyncio.gather(*(run(p, i) for i, p in enumerate(piles)))
    return sent, time.monotonic() - t0


async def fault_phase(url: str, token: str, piles: list[Pile], faults: int) -> tuple[list, list]:
    reported, confirmed = [], []
    codes = [p.code for p in piles]
    ws = await websockets.connect(f"{url}/ws/alerts/?token={token}&piles={','.join(codes)}",
                                  additional_headers={"Origin": "http://127.0.0.1"}, open_timeout=30)
    await asyncio.wait_for(ws.recv(), 10)  # subscribed
    waiting: dict[str, dict] = {}

    async def listen():
        async for message in ws:
            data = json.loads(message)
            alert = data.get("alert", data)
            pile = alert.get("pile")
            phase = alert.get("phase")
            if pile in waiting and phase in ("reported", "confirmed") and phase not in waiting[pile]:
                waiting[pile][phase] = time.monotonic()
                if {"reported", "confirmed"} <= set(waiting[pile]):
                    waiting[pile]["done"].set()

    listener = asyncio.create_task(listen())
    try:
        for k in range(min(faults, len(piles))):
            pile = piles[k]
            waiting[pile.code] = {"done": asyncio.Event()}
            t0 = time.monotonic()
            await pile.status("Faulted", "GroundFailure" if pile.protocol == "ocpp1.6" else "GroundFault")
            try:
                await asyncio.wait_for(waiting[pile.code]["done"].wait(), 30)
            except asyncio.TimeoutError:
                print(f"  fault {k}: no complete alert in 30 s ({sorted(waiting[pile.code])})", flush=True)
            got = waiting.pop(pile.code)
            if "reported" in got:
                reported.append((got["reported"] - t0) * 1000)
            if "confirmed" in got:
                confirmed.append((got["confirmed"] - t0) * 1000)
            await pile.status("Available")
            await asyncio.sleep(0.3)
    finally:
        listener.cancel()
        await ws.close()
    return reported, confirmed


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


ANCHOR = """
from monitoring.services.anchoring import anchor_all
print(sum(b.count for b in anchor_all()))
"""


def readings_stored(dsn: str, codes: list[str]) -> tuple[int, int]:
    """(rows in PostgreSQL, rows whose anchor transaction the ledger has applied)."""
    for attempt in range(30):  # the shared server may be at its connection limit for a moment
        try:
            conn = psycopg2.connect(dsn)
            break
        except psycopg2.OperationalError:
            if attempt == 29:
                raise
            time.sleep(2)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select count(*), count(c.tx_id) from monitoring_reading r "
                "join registry_pile p on p.id = r.pile_id "
                "left join monitoring_anchorbatch b on b.id = r.batch_id "
                "left join ledger_committedtx c on c.tx_id = b.tx_id and c.status = 'applied' "
                "where p.code = any(%s)", (codes,)
            )
            row = cur.fetchone()
    finally:
        conn.close()
    return row[0], row[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--hold", type=float, default=60)
    parser.add_argument("--meter-piles", type=int, default=200)
    parser.add_argument("--meter-seconds", type=float, default=20)
    parser.add_argument("--faults", type=int, default=30)
    parser.add_argument("--anchor-wait", type=float, default=120)
    parser.add_argument("--gateway-workers", type=int, default=2, help="uvicorn processes serving /ocpp/")
    args = parser.parse_args()
    args.hold = max(60.0, args.hold)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    limit = raise_open_files()

    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        print("bench/gateway.py needs DATABASE_URL (PostgreSQL) and REDIS_URL", file=sys.stderr)
        return 2
    env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/benchgw{os.getpid()}_{{node}}"
    var_dir = Path(tempfile.mkdtemp(prefix="pilechain-bench-gw-"))
    net = LocalNet(parse_specs(FOUR_NODES, 18501), var_dir=var_dir, base_env=env, worker_concurrency=3)
    operator = next(s for s in net.specs if s.code == OPERATOR)
    gateway = None
    print(f"open-file limit {limit}; preparing four nodes under {var_dir}", flush=True)
    net.prepare()
    net.start()
    try:
        net.wait_healthy(timeout=420)
        net.seed_demo(timeout=600)
        t = time.monotonic()
        registered = int(net.manage(operator, "shell", "-v", "0", "-c", REGISTER.format(
            n=args.connections, prefix=PREFIX, station=STATION, timeout=1800)).stdout.strip().splitlines()[-1])
        print(f"registered {registered} bench piles through the ledger in {time.monotonic() - t:.0f} s", flush=True)
        creds = json.loads(net.manage(operator, "shell", "-v", "0", "-c",
                                      CREDENTIALS.format(prefix=PREFIX, n=args.connections)).stdout.strip().splitlines()[-1])
        token = net.manage(operator, "shell", "-v", "0", "-c", TOKEN).stdout.strip().splitlines()[-1]
        port = free_port()
        log = open(var_dir / "gateway-uvicorn.log", "w")
        gateway = subprocess.Popen(
            [str(Path(sys.executable).parent / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--backlog", "4096",
             "--workers", str(args.gateway_workers)],
            cwd=ROOT, env=net.env_for(operator), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_listening(port, gateway)
        url = f"ws://127.0.0.1:{port}"
        dsn = net.env_for(operator)["DATABASE_URL"].replace("{node}", OPERATOR.lower().replace("-", "_"))

        async def run():
            print(f"connections: {len(creds)} piles, heartbeat every 10 s, held {args.hold:.0f} s", flush=True)
            count, errors, piles = await hold_connections(url, creds, args.hold)
            for e in errors[:5]:
                print("  ", e)
            print(f"  {count} connections held and heartbeating after {args.hold:.0f} s", flush=True)
            live = [p for p in piles if p.ws is not None and p.ws.close_code is None]
            meter_piles = live[: args.meter_piles]
            sent, elapsed = await meter_phase(meter_piles, args.meter_seconds)
            print(f"  meter values: {len(meter_piles)} piles, {sent} sampled values answered in {elapsed:.1f} s",
                  flush=True)
            # One fault per pile: a pile whose fault is still open (its work order not closed) is
            # not alerted again, by design of monitoring's de-duplication.
            fault_piles = live[args.meter_piles: args.meter_piles + args.faults]
            reported, confirmed = await fault_phase(url, token, fault_piles, args.faults)
            print(f"  faults: reported p50 {pct(reported, 0.5):.0f} ms p99 {pct(reported, 0.99):.0f} ms, "
                  f"confirmed p50 {pct(confirmed, 0.5):.0f} ms p99 {pct(confirmed, 0.99):.0f} ms", flush=True)
            await asyncio.gather(*(p.close() for p in piles), return_exceptions=True)
            return count, [p.code for p in meter_piles], sent, elapsed, reported, confirmed

        count, meter_codes, sent, elapsed, reported, confirmed = asyncio.run(run())
        stored, anchored = readings_stored(dsn, meter_codes)
        rate = stored / elapsed if elapsed else 0
        print(f"readings: {sent} sampled values answered, {stored} rows in PostgreSQL in {elapsed:.1f} s = {rate:.0f}/s",
              flush=True)
        t = time.monotonic()
        # The node's periodic anchoring task does this; run the same pass now rather than wait for it.
        batched = net.manage(operator, "shell", "-v", "0", "-c", ANCHOR).stdout.strip().splitlines()[-1]
        print(f"  anchoring pass: {batched} readings batched under Merkle roots", flush=True)
        while anchored < stored and time.monotonic() - t < args.anchor_wait:
            time.sleep(2)
            stored, anchored = readings_stored(dsn, meter_codes)
        print(f"  anchored: {anchored} of {stored} after {time.monotonic() - t:.0f} s more", flush=True)
        print(f"faults: {len(reported)} reported, {len(confirmed)} confirmed of {args.faults}", flush=True)
        print(f"connections={count} readings_per_s={rate:.0f} reported_p50_ms={pct(reported, 0.5):.0f} "
              f"reported_p99_ms={pct(reported, 0.99):.0f} confirmed_p50_ms={pct(confirmed, 0.5):.0f} "
              f"confirmed_p99_ms={pct(confirmed, 0.99):.0f}")
    finally:
        if gateway is not None:
            from tests.processes import stop

            stop(gateway)
        net.stop()
        net.drop_databases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
