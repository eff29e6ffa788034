"""Benchmark: the live path (issue #17), from a pile's StatusNotification at the operator's gateway to
the state visible at the regulator's node, inside the local four-node consortium.

    .venv/bin/python bench/live_state.py [--piles 2000] [--duration 120] [--status-interval 60]
                                         [--meter-interval 10] [--gateway-workers 2] [--worker-slots 3]

Starts the four nodes (web, Celery worker, beat; PostgreSQL and Redis: DATABASE_URL / REDIS_URL must
be set, one database per node named lsb<pid>_<node>), seeds the demo consortium, registers the bench's
piles (two connectors each) through the ledger and waits until the regulator's node knows them all,
then serves the operator node's gateway (config.asgi) in uvicorn processes of its own, as
bench/gateway.py does. From this process, raw-websocket piles (OCPP 1.6 and 2.0.1 alternately)
connect and boot; once all have, for `--duration` seconds every connector

- changes state at random times, on average every `--status-interval` seconds (uniform between half
  and one and a half times that, random phase): a StatusNotification;
- sends MeterValues (energy register, power, current, voltage) every `--meter-interval` seconds,
  random phase.

One call at a time per pile, as OCPP-J asks. Then the load stops, the regulator's node is given up to
`--drain` seconds to apply what was forwarded, and both nodes' databases are read directly:

- offered: the StatusNotification and MeterValues messages the piles sent per second;
- achieved (events_per_s): what the operator's node stored per second (status events, plus
  MeterValues messages as distinct (pile, connector, time) readings), by the time it stored them;
- lag: per StatusNotification stored at the operator's node during the run, the regulator's node's
  status event for the same (pile, connector, time) (source "live"): its received_at minus the
  operator's (one machine, one clock). A status never seen at the regulator counts as infinitely late;
- forwarded_events_per_s: the operator's live sequence head (monitoring_livelink peer '*') over the
  run; applied_events_per_s: the regulator's position for the operator's node over the run;
- where the CPU went: CPU seconds per process group over the run (each node's web, worker and beat,
  the gateway's uvicorn, each node's PostgreSQL backends, this load generator).

The floor (issue #17): live_lag_p99_ms <= 3000 at the full offered rate. The last line holds the
figures as key=value pairs, the issue's four first.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402

from bench.gateway import Pile, now_iso, pct, raise_open_files, wait_listening  # noqa: E402
from config.localnet import FOUR_NODES, LocalNet, parse_specs  # noqa: E402
from tests.processes import free_port, stop  # noqa: E402

OPERATOR = "OPERATOR-A"
REGULATOR = "REGULATOR"
STATION = "SHA-ZJ-PR"
PREFIX = "LIVE-"
CONNECTORS = (1, 2)
FLOOR_P99_MS = 3000
FULL_RATE_SHARE = 0.98  # stored / offered at which the offered rate counts as met
STATES_16 = ("Available", "Preparing", "Charging", "SuspendedEV", "Charging", "Finishing")
STATES_201 = ("Available", "Occupied")

REGISTER = """
from datetime import date
from decimal import Decimal
from registry import services
from registry.models import Pile, User
actor = User.objects.get(username="operator_a")
have = set(Pile.objects.filter(code__startswith="{prefix}").values_list("code", flat=True))
for i in range({n}):
    code = "{prefix}%05d" % i
    if code not in have:
        services.pile_register(actor=actor, station="{station}", code=code, kind="ac", rated_power_kw=Decimal("7"),
                               status="active", commissioned_on=date(2025, 1, 1),
                               connectors=[{{"connector_id": c, "standard": "gbt_ac"}} for c in {connectors}])
"""

CREDENTIALS = """
import json
from gateway.services import store_credential
from registry.models import Pile
codes = list(Pile.objects.filter(code__startswith="{prefix}").order_by("code").values_list("code", flat=True))[:{n}]
print(json.dumps({{c: store_credential(pile_code=c) for c in codes}}))
"""


def connect_db(dsn: str):
    for attempt in range(30):  # the shared server may be at its connection limit for a moment
        try:
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError:
            if attempt == 29:
                raise
            time.sleep(2)


def scalar(dsn: str, sql: str, params=()) -> int:
    conn = connect_db(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row and row[0] is not None else 0
    finally:
        conn.close()


def bench_piles(dsn: str) -> int:
    return scalar(dsn, "select count(*) from registry_pile where code like %s", (PREFIX + "%",))


def live_head(dsn: str) -> int:
    return scalar(dsn, "select head from monitoring_livelink where peer = '*' and direction = 'out'")


def live_applied(dsn: str, source: str) -> int:
    return scalar(dsn, "select seq from monitoring_livelink where peer = %s and direction = 'in'", (source,))


# --- the load --------------------------------------------------------------------------------------
class LivePile(Pile):
    """bench/gateway.py's raw OCPP-J client, with two connectors and one call at a time."""

    def __init__(self, code: str, password: str, protocol: str):
        super().__init__(code, password, protocol)
        self.lock = asyncio.Lock()
        self.energy = {c: random.randint(1000, 100000) for c in CONNECTORS}
        self.state = {c: 0 for c in CONNECTORS}

    async def send_status(self, connector: int) -> bool:
        self.state[connector] += 1
        async with self.lock:
            if self.protocol == "ocpp1.6":
                status = STATES_16[self.state[connector] % len(STATES_16)]
                payload = {"connectorId": connector, "status": status, "errorCode": "NoError", "timestamp": now_iso()}
            else:
                status = STATES_201[self.state[connector] % len(STATES_201)]
                payload = {"timestamp": now_iso(), "connectorStatus": status, "evseId": connector, "connectorId": 1}
            answer = await self.call("StatusNotification", payload)
        return answer[0] == 3

    async def send_meter(self, connector: int) -> bool:
        self.energy[connector] += random.randint(0, 20)
        energy = self.energy[connector]
        async with self.lock:
            if self.protocol == "ocpp1.6":
                values = [{"value": str(energy), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                          {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
                          {"value": "30.4", "measurand": "Current.Import", "unit": "A"},
                          {"value": "230.1", "measurand": "Voltage", "unit": "V"}]
                payload = {"connectorId": connector, "meterValue": [{"timestamp": now_iso(), "sampledValue": values}]}
            else:
                values = [{"value": energy, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}},
                          {"value": 7000, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                          {"value": 30.4, "measurand": "Current.Import", "unitOfMeasure": {"unit": "A"}},
                          {"value": 230.1, "measurand": "Voltage", "unitOfMeasure": {"unit": "V"}}]
                payload = {"evseId": connector, "meterValue": [{"timestamp": now_iso(), "sampledValue": values}]}
            answer = await self.call("MeterValues", payload)
        return answer[0] == 3


class Counts:
    def __init__(self):
        self.status_sent = self.meter_sent = self.ok = self.failed = 0
        self.round_trips: list[float] = []
        self.errors: list[str] = []

    def answered(self, ok: bool, seconds: float) -> None:
        self.ok += ok
        self.round_trips.append(seconds * 1000)

    def error(self, pile: LivePile, exc: Exception) -> None:
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(f"{pile.code}: {type(exc).__name__}: {exc}")


async def connect_all(url: str, creds: dict[str, str]) -> list[LivePile]:
    piles = [LivePile(code, pw, "ocpp1.6" if i % 2 == 0 else "ocpp2.0.1") for i, (code, pw) in enumerate(creds.items())]
    gate = asyncio.Semaphore(50)  # handshakes in flight

    async def start(pile: LivePile) -> bool:
        async with gate:
            try:
                await pile.connect(url)
                return await pile.boot()
            except Exception as exc:
                print(f"  {pile.code}: {type(exc).__name__}: {exc}", flush=True)
                return False

    t0 = time.monotonic()
    booted = await asyncio.gather(*(start(p) for p in piles))
    live = [p for p, ok in zip(piles, booted) if ok]
    print(f"  {len(live)} of {len(piles)} piles connected and booted in {time.monotonic() - t0:.1f} s", flush=True)
    return live


async def offer(piles: list[LivePile], *, duration: float, status_s: float, meter_s: float, counts: Counts) -> None:
    """Every connector's status changes and meter values for `duration` seconds, each stream at a
    random phase so that the offered rate is steady from the first second."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + duration

    async def statuses(pile: LivePile, connector: int):
        at = start + random.uniform(0, status_s)
        while at < end:
            await asyncio.sleep(max(0.0, at - loop.time()))
            counts.status_sent += 1
            sent = loop.time()
            try:
                ok = await pile.send_status(connector)  # not `counts.x += await ...`: that adds to a stale x
                counts.answered(ok, loop.time() - sent)
            except Exception as exc:
                counts.error(pile, exc)
                return
            at += random.uniform(0.5 * status_s, 1.5 * status_s)

    async def meters(pile: LivePile, connector: int):
        at = start + random.uniform(0, meter_s)
        while at < end:
            await asyncio.sleep(max(0.0, at - loop.time()))
            counts.meter_sent += 1
            sent = loop.time()
            try:
                ok = await pile.send_meter(connector)
                counts.answered(ok, loop.time() - sent)
            except Exception as exc:
                counts.error(pile, exc)
                return
            at += meter_s

    await asyncio.gather(*(job(p, c) for p in piles for c in CONNECTORS for job in (statuses, meters)))


async def watch(operator_dsn: str, regulator_dsn: str, every: float, samples: list, stopping: asyncio.Event) -> None:
    """Every `every` seconds: the operator's head and the regulator's position (the backlog)."""
    while not stopping.is_set():
        head, applied = await asyncio.gather(asyncio.to_thread(live_head, operator_dsn),
                                             asyncio.to_thread(live_applied, regulator_dsn, OPERATOR))
        samples.append((time.time(), head, applied))
        try:
            await asyncio.wait_for(stopping.wait(), every)
        except asyncio.TimeoutError:
            pass


# --- CPU accounting --------------------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _tree(root: int, parents: dict[int, int]) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid]
        found.update(children)
        frontier.extend(children)
    return found


def cpu_snapshot(groups: dict[str, int], postgres: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds per process of each group (a group: a root pid and its descendants, or a list of
    PostgreSQL backends)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                stats[int(entry)] = stat
    parents = {pid: ppid for pid, (ppid, _) in stats.items()}
    out = {name: {pid: stats[pid][1] for pid in _tree(root, parents) if pid in stats} for name, root in groups.items()}
    out["load generator (this process)"] = {os.getpid(): stats[os.getpid()][1]}
    for name, pids in postgres.items():
        out[name] = {pid: stats[pid][1] for pid in pids if pid in stats}
    return out


def postgres_backends(server_dsn: str, databases: dict[str, str]) -> dict[str, list[int]]:
    conn = connect_db(server_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select datname, pid from pg_stat_activity where datname = any(%s)", (list(databases.values()),))
            rows = cur.fetchall()
    finally:
        conn.close()
    by_name = {db: node for node, db in databases.items()}
    out: dict[str, list[int]] = {}
    for datname, pid in rows:
        out.setdefault(f"postgres {by_name[datname]}", []).append(pid)
    return out


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per group between two snapshots (a process born in between counts from zero)."""
    return {name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in procs.items())
            for name, procs in after.items()}


def machine_busy() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) / TICK, idle / TICK


# --- the figures -----------------------------------------------------------------------------------
def status_rows(dsn: str, where: str, params: tuple) -> dict[tuple, dt.datetime]:
    conn = connect_db(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select p.code, s.connector_id, s.ts, s.received_at from monitoring_statusevent s "
                        "join registry_pile p on p.id = s.pile_id where p.code like %s and " + where,
                        (PREFIX + "%", *params))
            return {(code, connector, ts): received for code, connector, ts, received in cur.fetchall()}
    finally:
        conn.close()


def stored_meter_messages(dsn: str, t0: dt.datetime, t1: dt.datetime) -> int:
    return scalar(dsn, "select count(*) from (select distinct r.pile_id, r.connector_id, r.ts from monitoring_reading r "
                       "join registry_pile p on p.id = r.pile_id where p.code like %s "
                       "and r.received_at >= %s and r.received_at < %s) m", (PREFIX + "%", t0, t1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--piles", type=int, default=2000, help="simulated piles, two connectors each")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load once all piles are connected")
    parser.add_argument("--status-interval", type=float, default=60, help="mean seconds between a connector's state changes")
    parser.add_argument("--meter-interval", type=float, default=10, help="seconds between a connector's MeterValues")
    parser.add_argument("--drain", type=float, default=60, help="at most this long for the regulator to catch up")
    parser.add_argument("--gateway-workers", type=int, default=2, help="uvicorn processes serving /ocpp/")
    parser.add_argument("--worker-slots", type=int, default=3,
                        help="Celery pool slots per node (the live forwarder and the ledger driver hold one each)")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    if args.worker_slots < 3:
        parser.error("--worker-slots must be at least 3")
    random.seed(args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    limit = raise_open_files()

    env = dict(os.environ)
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        print("bench/live_state.py needs DATABASE_URL (PostgreSQL) and REDIS_URL", file=sys.stderr)
        return 2
    server = env["DATABASE_URL"].rsplit("/", 1)[0]
    env["DATABASE_URL"] = server + f"/lsb{os.getpid()}_{{node}}"
    var_dir = Path(tempfile.mkdtemp(prefix="pilechain-bench-live-"))
    net = LocalNet(parse_specs(FOUR_NODES, 18601), var_dir=var_dir, base_env=env, worker_concurrency=args.worker_slots)
    databases = {s.code: f"lsb{os.getpid()}_{s.code.lower().replace('-', '_')}" for s in net.specs}
    dsn = {code: f"{server}/{name}" for code, name in databases.items()}
    operator = next(s for s in net.specs if s.code == OPERATOR)
    gateway = None
    print(f"open-file limit {limit}; preparing four nodes under {var_dir}", flush=True)
    net.prepare()
    net.start()
    try:
        net.wait_healthy(timeout=420)
        net.seed_demo(timeout=600)
        t = time.monotonic()
        net.manage(operator, "shell", "-v", "0", "-c", REGISTER.format(
            n=args.piles, prefix=PREFIX, station=STATION, connectors=list(CONNECTORS)))
        while min(bench_piles(dsn[OPERATOR]), bench_piles(dsn[REGULATOR])) < args.piles:
            if time.monotonic() - t > 1800:
                raise RuntimeError("the bench's piles did not reach the regulator's node in 30 minutes")
            time.sleep(2)
        print(f"registered {args.piles} piles ({len(CONNECTORS)} connectors each) through the ledger, known at the "
              f"regulator's node, in {time.monotonic() - t:.0f} s", flush=True)
        creds = json.loads(net.manage(operator, "shell", "-v", "0", "-c",
                                      CREDENTIALS.format(prefix=PREFIX, n=args.piles)).stdout.strip().splitlines()[-1])
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
        groups = {"gateway uvicorn": gateway.pid}
        for code, node in net.nodes.items():
            for which in ("web", "worker", "beat"):
                proc = getattr(node, which)
                if proc is not None:
                    groups[f"{code} {which}"] = proc.pid
        counts = Counts()
        samples: list = []

        async def run():
            piles = await connect_all(url, creds)
            # Connections, boots and the first status of each pile are behind us; let the live path
            # settle before the clock starts.
            await asyncio.sleep(5)
            expected = len(piles) * len(CONNECTORS) * (1 / args.status_interval + 1 / args.meter_interval)
            print(f"load: {len(piles)} piles, {len(piles) * len(CONNECTORS)} connectors, a state change every "
                  f"{args.status_interval:.0f} s and MeterValues every {args.meter_interval:.0f} s per connector "
                  f"({expected:.0f} messages/s) for {args.duration:.0f} s", flush=True)
            stopping = asyncio.Event()
            cpu0 = cpu_snapshot(groups, postgres_backends(server + "/postgres", databases))
            busy0 = machine_busy()
            load0 = os.getloadavg()[0]
            head0, applied0 = live_head(dsn[OPERATOR]), live_applied(dsn[REGULATOR], OPERATOR)
            t0 = time.time()
            watcher = asyncio.create_task(watch(dsn[OPERATOR], dsn[REGULATOR], 5, samples, stopping))
            await offer(piles, duration=args.duration, status_s=args.status_interval, meter_s=args.meter_interval,
                        counts=counts)
            t1 = time.time()
            head1, applied1 = live_head(dsn[OPERATOR]), live_applied(dsn[REGULATOR], OPERATOR)
            cpu1 = cpu_snapshot(groups, postgres_backends(server + "/postgres", databases))
            busy1 = machine_busy()
            load1 = os.getloadavg()[0]
            stopping.set()
            await watcher
            await asyncio.gather(*(p.close() for p in piles), return_exceptions=True)
            return piles, t0, t1, (head0, head1), (applied0, applied1), cpu_used(cpu0, cpu1), (busy0, busy1), (load0, load1)

        piles, t0, t1, heads, applied, cpu, busy, load = asyncio.run(run())
        elapsed = t1 - t0
        t = time.monotonic()
        while live_applied(dsn[REGULATOR], OPERATOR) < heads[1] and time.monotonic() - t < args.drain:
            time.sleep(1)
        drained = time.monotonic() - t
        at0 = dt.datetime.fromtimestamp(t0, dt.timezone.utc)
        at1 = dt.datetime.fromtimestamp(t1, dt.timezone.utc)

        offered = (counts.status_sent + counts.meter_sent) / elapsed
        target = len(piles) * len(CONNECTORS) * (1 / args.status_interval + 1 / args.meter_interval)
        at_operator = status_rows(dsn[OPERATOR], "s.source <> 'live' and s.received_at >= %s and s.received_at < %s",
                                  (at0, at1))
        meters = stored_meter_messages(dsn[OPERATOR], at0, at1)
        achieved = (len(at_operator) + meters) / elapsed
        at_regulator = status_rows(dsn[REGULATOR], "s.source = 'live' and s.ts >= %s",
                                   (at0 - dt.timedelta(minutes=5),))
        lags, missing = [], 0
        for key, accepted in at_operator.items():
            visible = at_regulator.get(key)
            if visible is None:
                missing += 1
                lags.append(float("inf"))
            else:
                lags.append((visible - accepted).total_seconds() * 1000)
        # The other side of the lag, for where the time goes: the pile's timestamp (taken just before
        # it sent the StatusNotification) to the operator's node storing it.
        accept = [(received - key[2]).total_seconds() * 1000 for key, received in at_operator.items()]
        forwarded = (heads[1] - heads[0]) / elapsed
        applied_rate = (applied[1] - applied[0]) / elapsed
        backlog = max((h - a for _, h, a in samples), default=0)

        print(f"offered: {counts.status_sent} StatusNotification + {counts.meter_sent} MeterValues in {elapsed:.1f} s "
              f"= {offered:.1f}/s of {target:.1f}/s scheduled ({counts.ok} answered, {counts.failed} failed; round trip "
              f"p50 {pct(counts.round_trips, 0.5):.0f} ms, p99 {pct(counts.round_trips, 0.99):.0f} ms)", flush=True)
        for error in counts.errors:
            print("  ", error)
        print(f"stored at the operator's node: {len(at_operator)} status events + {meters} MeterValues = "
              f"{achieved:.1f}/s", flush=True)
        print(f"live path: head {heads[0]} -> {heads[1]} ({forwarded:.1f} events/s forwarded); the regulator's node "
              f"applied {applied[0]} -> {applied[1]} ({applied_rate:.1f}/s) during the run; largest backlog seen "
              f"{backlog} events; caught up {drained:.0f} s after the load stopped"
              + ("" if live_applied(dsn[REGULATOR], OPERATOR) >= heads[1] else " (NOT caught up)"), flush=True)
        print("  backlog every 5 s (head - applied at the regulator): "
              + " ".join(str(h - a) for _, h, a in samples), flush=True)
        p50, p99 = pct(lags, 0.5), pct(lags, 0.99)
        finite = [x for x in lags if x != float("inf")]
        print(f"lag, StatusNotification accepted -> visible at the regulator: {len(lags)} statuses, {missing} never "
              f"seen there; p50 {p50:.0f} ms, p90 {pct(lags, 0.9):.0f} ms, p99 {p99:.0f} ms, "
              f"max {max(finite, default=float('nan')):.0f} ms", flush=True)
        # The floor asks for the lag at the full offered rate: a gateway that stores less than it is
        # offered (its piles waiting for answers) does not meet it, however short the lag.
        full_rate = achieved >= FULL_RATE_SHARE * target
        print(f"floor p99 <= {FLOOR_P99_MS} ms at the full offered rate: "
              f"{'HOLDS' if p99 <= FLOOR_P99_MS and full_rate else 'MISSED'} (p99 {p99:.0f} ms with "
              f"{achieved:.1f} of the {target:.1f} messages/s offered stored, {achieved / target:.0%})", flush=True)
        print(f"  (before that: pile sends -> the operator's node stores it, p50 {pct(accept, 0.5):.0f} ms, "
              f"p99 {pct(accept, 0.99):.0f} ms)", flush=True)
        (total0, idle0), (total1, idle1) = busy
        cores = os.cpu_count() or 1
        print(f"CPU over the run ({cores} cores, load average {load[0]:.1f} at the start, {load[1]:.1f} at the end, machine busy {100 * (1 - (idle1 - idle0) / (total1 - total0)):.0f}%; "
              f"cores used per group):", flush=True)
        for name, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]):
            if seconds / elapsed >= 0.01:
                print(f"  {name:32s} {seconds / elapsed:5.2f}", flush=True)
        print(f"  {'all of the above':32s} {sum(cpu.values()) / elapsed:5.2f}", flush=True)
        # Offered: the rate the piles were scheduled to send (the load asked of the gateway); what they
        # managed to send while waiting for answers is sent_events_per_s.
        print(f"offered_events_per_s={target:.1f} events_per_s={achieved:.1f} live_lag_p50_ms={p50:.0f} "
              f"live_lag_p99_ms={p99:.0f} sent_events_per_s={offered:.1f} forwarded_events_per_s={forwarded:.1f} applied_events_per_s={applied_rate:.1f} "
              f"piles={len(piles)} statuses={len(lags)} missing={missing} lag_p99_over_floor={p99 / FLOOR_P99_MS:.2f} "
              f"stored_over_offered={achieved / target:.2f} "
              f"accept_p50_ms={pct(accept, 0.5):.0f} accept_p99_ms={pct(accept, 0.99):.0f} load_avg={load[1]:.1f}")
    finally:
        if gateway is not None:
            stop(gateway)
        net.stop()
        net.drop_databases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
