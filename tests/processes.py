"""Real processes for tests: the node's own commands (manage.py, celery, uvicorn) in subprocesses."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


# Servers the tests start listen below the kernel's ephemeral range (32768-60999 on Linux), where
# the operating system picks the local ports of outgoing connections: a port chosen there could be
# taken by any client socket (a node's HTTP, Redis or PostgreSQL connection) before its server binds
# it. Each process draws from its own random stream, so parallel test workers rarely meet.
SERVER_PORTS = (20000, 32000)
_ports = random.Random()


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port(consecutive: int = 1) -> int:
    """A port (the first of `consecutive` ones) no server listens on, outside the ephemeral range."""
    low, high = SERVER_PORTS
    for _ in range(1000):
        port = _ports.randrange(low, high - consecutive)
        if all(_bindable(port + i) for i in range(consecutive)):
            return port
    raise RuntimeError(f"no {consecutive} free consecutive ports in {low}-{high}")


def login(url: str, username: str = "admin", password: str = "pilechain-demo") -> requests.Session:
    """A browser-like session logged in at a node (the demo password by default)."""
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    s.post(f"{url}/accounts/login/", data={"username": username, "password": password,
                                           "csrfmiddlewaretoken": s.cookies["csrftoken"]},
           headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    assert "sessionid" in s.cookies
    return s


def node_env(**overrides: str | None) -> dict[str, str]:
    """The test process's environment with overrides; a value of None removes the variable."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def shared_database_url() -> str:
    """The test database of this process, as a URL another process of the node can use (with
    transactional tests, so that what the test writes is committed where that process sees it)."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@contextmanager
def background(cmd: list[str], env: dict, log: Path):
    """Run a command for the duration of the block, then stop it (SIGTERM, then SIGKILL)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def celery_worker(env: dict, log: Path, node: str, concurrency: int = 1):
    return background(
        [str(BIN / "celery"), "-A", "config", "worker", "-l", "info", "-c", str(concurrency),
         "-n", f"{node}@%h", "-Q", f"pilechain-{node}"],
        env, log,
    )


def asgi_server(env: dict, log: Path, port: int):
    return background(
        [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env, log,
    )


def wait_for(predicate, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last result: {last!r}")
