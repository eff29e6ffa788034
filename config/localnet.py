"""A consortium of institution nodes on one machine: each node a web server, a Celery worker and
Celery beat, with its own database and its own keys. Used by `scripts/run` and by the tests.

    python -m config.localnet                # five nodes on ports 8001-8005, until Ctrl-C
    python -m config.localnet --base-port 9001 --node OPERATOR-A:operator --node ...

Services: with DATABASE_URL containing "{node}" each node gets its own PostgreSQL database (created
here when missing); without DATABASE_URL each node gets its own SQLite file under var/<node>/. With
REDIS_URL the nodes share that server, each under its own key prefix; without it they share one
embedded Redis server. `node_env` gives a node its own variables on top of these (None removes one),
so a consortium may mix backends: DATABASE_URL None puts that node on its SQLite file while the
others use PostgreSQL. This module imports no Django: it starts processes that do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from config import embedded_redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The consortium the tests and benchmarks start where two competing operators do not matter (CI time).
FOUR_NODES = ("OPERATOR-A:operator", "METROLOGY:metrology", "GRID:grid", "REGULATOR:regulator")
# The run command's: two operators that compete, each with its own node, stations, piles, staff and
# simulated charge points.
DEFAULT_NODES = (*FOUR_NODES, "OPERATOR-B:operator")
DEMO_NAMES = {
    "OPERATOR-A": "Shanghai Green Charge O&M Co., Ltd.",
    "OPERATOR-B": "Shanghai Blue Sky EV Charging Co., Ltd.",
    "METROLOGY": "Shanghai Institute of Measurement and Testing Technology",
    "GRID": "State Grid Shanghai Municipal Electric Power Company",
    "REGULATOR": "Shanghai Municipal Development and Reform Commission",
}


@dataclass
class NodeSpec:
    code: str
    role: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class NodeProcesses:
    spec: NodeSpec
    env: dict
    web: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    fleet: subprocess.Popen | None = None
    logs: list = field(default_factory=list)


class LocalNet:
    def __init__(self, specs: list[NodeSpec], *, var_dir: Path, base_env: dict | None = None,
                 worker_concurrency: int = 4, timeouts: dict | None = None, beat: bool = True,
                 node_env: dict[str, dict[str, str | None]] | None = None, intervals: dict | None = None):
        self.specs = specs
        self.var_dir = Path(var_dir)
        self.base_env = dict(base_env if base_env is not None else os.environ)
        self.base_env.pop("DJANGO_SETTINGS_MODULE", None)
        self.base_env["PILECHAIN_VAR_DIR"] = str(self.var_dir)
        self.base_env["PILECHAIN_CONSORTIUM"] = str(self.var_dir / "consortium.json")
        self.worker_concurrency = worker_concurrency
        self.timeouts = timeouts or {}
        self.intervals = intervals or {}  # the definition's agreed intervals (docs/intervals.md)
        self.beat = beat
        # {code: {VAR: value, or None to remove VAR}}, applied on top of base_env for that node only.
        self.node_env = {code: dict(overrides) for code, overrides in (node_env or {}).items()}
        unknown = set(self.node_env) - {s.code for s in specs}
        if unknown:
            raise ValueError(f"node_env names nodes not in the consortium: {', '.join(sorted(unknown))}")
        self.nodes = {s.code: NodeProcesses(s, self.env_for(s)) for s in specs}

    def env_for(self, spec: NodeSpec) -> dict:
        env = dict(self.base_env)
        for name, value in self.node_env.get(spec.code, {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        env["PILECHAIN_NODE"] = spec.code
        return env

    # ------------------------------------------------------------------ set-up

    def manage(self, spec: NodeSpec, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env_for(spec),
                                capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise RuntimeError(f"{spec.code}: manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def prepare(self) -> None:
        """Keys and the consortium definition, then each node's database, migrated."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        # New keys make a new chain: databases left by another consortium (an earlier checkout on the
        # same PostgreSQL server) hold a chain these nodes did not sign, so they start empty.
        fresh = not (self.var_dir / "consortium.json").exists()
        if fresh:
            self.drop_databases()
        node_args = [a for s in self.specs
                     for a in ("--node", f"{s.code}:{s.role}:{s.port}:{DEMO_NAMES.get(s.code, s.code)}")]
        self.manage(self.specs[0], "ledger", "local-consortium", *node_args, "--timeouts", json.dumps(self.timeouts),
                    "--intervals", json.dumps(self.intervals))
        self._ensure_databases()
        for spec in self.specs:
            self.manage(spec, "migrate", "--noinput")
            self.manage(spec, "ledger", "genesis")  # also fills the institutions table from the definition

    def _postgres_urls(self) -> list[str]:
        """Each node's DATABASE_URL that holds "{node}" (a node on SQLite, without one, has none)."""
        return [url for s in self.specs if "{node}" in (url := self.env_for(s).get("DATABASE_URL", ""))]

    def _database_names(self) -> list[str]:
        """The per-node PostgreSQL databases: only of the nodes whose DATABASE_URL holds "{node}"."""
        return [url.rsplit("/", 1)[1].split("?")[0].replace("{node}", s.code.lower().replace("-", "_"))
                for s in self.specs if "{node}" in (url := self.env_for(s).get("DATABASE_URL", ""))]

    def _server(self):
        import psycopg2  # lazy-import: optional dependency, only the PostgreSQL mode needs it

        # One server for all of them, as in docs/consortium.md ("Sharing servers"): the first node's.
        conn = psycopg2.connect(self._postgres_urls()[0].rsplit("/", 1)[0] + "/postgres")
        conn.autocommit = True
        return conn

    def _ensure_databases(self) -> None:
        names = self._database_names()
        if not names:
            return
        conn = self._server()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names])
                present = {row[0] for row in cur.fetchall()}
                for name in names:
                    if name not in present:
                        cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()

    def drop_databases(self) -> None:
        """Remove the per-node PostgreSQL databases (tests and benchmarks clean up after themselves)."""
        names = self._database_names()
        if not names:
            return
        conn = self._server()
        try:
            with conn.cursor() as cur:
                for name in names:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()

    # ------------------------------------------------------------------ processes

    def _spawn(self, node: NodeProcesses, name: str, cmd: list[str]) -> subprocess.Popen:
        log_dir = self.var_dir / node.spec.code / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "ab")
        node.logs.append(log)
        return subprocess.Popen(cmd, cwd=ROOT, env=node.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_web(self, code: str) -> None:
        node = self.nodes[code]
        node.web = self._spawn(node, "web", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                                             "--port", str(node.spec.port), "--log-level", "warning"])

    def start_worker(self, code: str) -> None:
        node = self.nodes[code]
        node.worker = self._spawn(node, "worker", [
            str(BIN / "celery"), "-A", "config", "worker", "-l", "info", "-c", str(self.worker_concurrency),
            "-n", f"{code}@%h", "-Q", f"pilechain-{code}",
        ])

    def start_beat(self, code: str) -> None:
        node = self.nodes[code]
        node.beat = self._spawn(node, "beat", [
            str(BIN / "celery"), "-A", "config", "beat", "-l", "warning",
            "-s", str(self.var_dir / code / "celerybeat-schedule"),
        ])

    def start(self) -> None:
        for code in self.nodes:
            self.start_web(code)
            self.start_worker(code)
            if self.beat:
                self.start_beat(code)

    def start_fleet(self, code: str, piles: int = 4, *, meter_interval: float = 10,
                    fault_rate: float | None = None, protocol: str = "mixed") -> None:
        """Simulated charge points of the node's operator, connected to its gateway for an hour:
        they boot, charge, send (partly OCMF-signed) meter values and fail now and then. A test
        that stops them after a minute shortens the interval (a session is six meter values) and
        may raise the chance of a fault per session; `protocol`: 1.6, 2.0.1 or mixed (alternating)."""
        node = self.nodes[code]
        faults = [] if fault_rate is None else ["--fault-rate", str(fault_rate)]
        node.fleet = self._spawn(node, "fleet", [
            sys.executable, "manage.py", "simulate_fleet", "--piles", str(piles), "--duration", "3600",
            "--url", f"ws://127.0.0.1:{node.spec.port}", "--meter-interval", str(meter_interval), "--heartbeat", "30",
            "--aligned", str(self.intervals.get("length_s", 900)), "--protocol", protocol, *faults,
        ])

    def kill(self, code: str, which: str, sig: int = signal.SIGKILL) -> None:
        proc = getattr(self.nodes[code], which)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=30)
        setattr(self.nodes[code], which, None)

    def stop(self) -> None:
        for node in self.nodes.values():
            for which in ("fleet", "beat", "worker", "web"):
                proc = getattr(node, which)
                if proc is not None and proc.poll() is None:
                    try:
                        os.killpg(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
        deadline = time.monotonic() + 20
        for node in self.nodes.values():
            for which in ("fleet", "beat", "worker", "web"):
                proc = getattr(node, which)
                if proc is None:
                    continue
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            for log in node.logs:
                log.close()
            node.logs.clear()
        if any(not node.env.get("REDIS_URL") for node in self.nodes.values()):
            # The nodes' shared embedded server goes with them.
            embedded_redis.stop(self.var_dir)

    def wait_healthy(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.nodes)
        while pending and time.monotonic() < deadline:
            dead = [f"{code} {which} exited ({proc.returncode})" for code in sorted(pending)
                    for which in ("web", "worker") if (proc := getattr(self.nodes[code], which)) is not None
                    and proc.poll() is not None]
            if dead:  # no point waiting out the timeout for a process that is gone
                raise RuntimeError(f"nodes not healthy: {'; '.join(dead)}", sorted(pending))
            for code in list(pending):
                try:
                    with urllib.request.urlopen(self.nodes[code].spec.url + "/healthz", timeout=3) as r:
                        if r.status == 200:
                            pending.discard(code)
                except (urllib.error.URLError, OSError):
                    pass
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"nodes not healthy after {timeout:.0f}s: {', '.join(sorted(pending))}", sorted(pending))

    def explain(self, codes, lines: int = 15) -> None:
        """Why nodes failed, for the person who started them: the end of each process's log."""
        for code in codes:
            log_dir = self.var_dir / code / "log"
            for name in ("web", "worker", "beat"):
                path = log_dir / f"{name}.log"
                if not path.exists():
                    continue
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                print(f"--- {code} {name} ({path}), last {len(tail)} lines:", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)


    def seed_demo(self, timeout: float = 300) -> dict[str, str]:
        """Demo people on every node and the demo registry, as transactions: the grid company's areas
        first, then the operator's stations and piles and the metrology institute's test boxes.
        Returns each node's seed output."""
        out = {}
        order = sorted(self.specs, key=lambda s: 0 if s.role == "grid" else 1)
        first, rest = order[0], order[1:]
        out[first.code] = self.manage(first, "seed_demo", "--timeout", str(timeout)).stdout
        procs = {s.code: subprocess.Popen([sys.executable, "manage.py", "seed_demo", "--timeout", str(timeout)],
                                          cwd=ROOT, env=self.env_for(s), stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True) for s in rest}
        for code, proc in procs.items():
            text, _ = proc.communicate(timeout=timeout + 60)
            if proc.returncode != 0:
                raise RuntimeError(f"{code}: seed_demo failed:\n{text}")
            out[code] = text
        return out


def parse_specs(values: list[str] | None, base_port: int) -> list[NodeSpec]:
    specs = []
    for i, value in enumerate(values or DEFAULT_NODES):
        code, role = value.split(":")[:2]
        specs.append(NodeSpec(code=code, role=role, port=base_port + i))
    return specs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--node", action="append", metavar="CODE:ROLE", help="a member node (4 or more)")
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("PORT", 8001)))
    parser.add_argument("--var-dir", default=os.environ.get("PILECHAIN_VAR_DIR", str(ROOT / "var")))
    parser.add_argument("--seed-demo", action="store_true", help="load the demo data (as transactions) once healthy")
    parser.add_argument("--fleet", type=int, default=4,
                        help="with --seed-demo: simulated charge points at each operator's node (0: none)")
    parser.add_argument("--debug", action="store_true",
                        help="run the nodes with Django's DEBUG on (error pages with tracebacks and settings)")
    args = parser.parse_args(argv)
    base_env = dict(os.environ)
    # A node is never a debug server unless asked: DEBUG's pages show settings and every URL.
    base_env["DEBUG"] = "1" if args.debug else "0"
    net = LocalNet(parse_specs(args.node, args.base_port), var_dir=Path(args.var_dir), base_env=base_env)
    failed = None  # why the consortium stopped on its own, if it did
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        net.prepare()
        net.start()
        try:
            net.wait_healthy()
        except RuntimeError as exc:
            failed = exc.args[0]
            net.explain(exc.args[1])
            print(failed, file=sys.stderr)
            return 1
        seeded = {}
        if args.seed_demo:
            print("loading the demo data through the ledger...", flush=True)
            seeded = net.seed_demo()
            if args.fleet:
                for code in (s.code for s in net.specs if s.role == "operator"):
                    net.start_fleet(code, args.fleet)
        print("pilechain consortium is running:")
        for node in net.nodes.values():
            print(f"  {node.spec.code:<12} {node.spec.role:<10} {node.spec.url}/   logs: {net.var_dir / node.spec.code / 'log'}")
        for node in net.nodes.values():
            if node.fleet is not None:
                print(f"  simulated charge points at {node.spec.code}: log {net.var_dir / node.spec.code / 'log' / 'fleet.log'}")
        for code, text in seeded.items():
            logins = [line for line in text.splitlines() if line.startswith("  ")]
            print(f"  logins at {net.nodes[code].spec.url}/ (password pilechain-demo): "
                  + ", ".join(line.split()[0] for line in logins))
        print("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while not stopping:
            for node in net.nodes.values():
                for which in ("web", "worker"):
                    proc = getattr(node, which)
                    if proc is not None and proc.poll() is not None:
                        failed = f"{node.spec.code} {which} exited ({proc.returncode})"
                        print(f"{failed}; stopping", file=sys.stderr)
                        net.explain([node.spec.code])
                        stopping = True
            time.sleep(0.5)
    finally:
        net.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
