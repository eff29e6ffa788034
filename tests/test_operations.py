"""Operations: the embedded mode, /healthz, and the production mode's refusals."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.processes import (
    ROOT, asgi_server, celery_worker, free_port, manage, node_env, shared_database_url, stop, wait_for,
)

PRODUCTION_SECRET = "k3y-" + "".join(chr(97 + (i * 7) % 26) for i in range(60))


@pytest.fixture
def embedded_env(tmp_path):
    """A node with no DATABASE_URL and no REDIS_URL, all its files in a temporary var/."""
    env = node_env(DATABASE_URL=None, REDIS_URL=None, PILECHAIN_VAR_DIR=str(tmp_path), PILECHAIN_NODE="emb")
    yield env
    # The embedded Redis outlives the processes that use it by design; this test owns this one.
    subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from config import embedded_redis;"
         " embedded_redis.stop(Path(sys.argv[1]))", str(tmp_path)],
        cwd=ROOT, env=env, check=False, timeout=30,
    )


@pytest.mark.slow
def test_embedded_mode_round_trips_a_task_and_reports_health(embedded_env, tmp_path):
    migrated = manage("migrate", "--noinput", env=embedded_env)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "redis" / "redis.sock").exists(), "settings did not start the embedded Redis"
    assert (tmp_path / "emb" / "db.sqlite3").exists()

    pragmas = manage(
        "shell", "-v", "0", "-c",
        "from django.db import connection; c = connection.cursor();"
        " print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA busy_timeout').fetchone()[0])",
        env=embedded_env,
    )
    assert pragmas.stdout.split() == ["wal", "20000"], pragmas.stderr

    port = free_port()
    with asgi_server(embedded_env, tmp_path / "web.log", port):
        url = f"http://127.0.0.1:{port}/healthz"
        with celery_worker(embedded_env, tmp_path / "worker.log", node="emb") as worker:
            round_trip = manage(
                "shell", "-v", "0", "-c", "from config.celery_app import ping; print(ping.delay().get(timeout=30))",
                env=embedded_env, timeout=60,
            )
            assert round_trip.stdout.strip() == "pong", round_trip.stderr + (tmp_path / "worker.log").read_text()
            body = wait_for(lambda: _health(url, expect=200), what="/healthz 200")
            assert body["checks"]["database"]["vendor"] == "sqlite"
            assert body["checks"]["redis"]["embedded"] is True
            assert body["checks"]["celery"]["workers"][0].startswith("emb@")
            stop(worker)
        body = wait_for(lambda: _health(url, expect=503), what="/healthz 503")
        assert body["status"] == "down"
        assert body["checks"]["celery"]["ok"] is False
        assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def _health(url, expect):
    response = requests.get(url, timeout=5)
    return response.json() if response.status_code == expect else None


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_healthz_follows_the_worker_of_this_node(tmp_path):
    """On whatever services the suite runs on (PostgreSQL and Redis in CI): a node's /healthz is 200
    while one of its workers runs and 503 once it stopped, whatever other nodes' workers do."""
    node = f"hz{os.getpid()}"
    env = node_env(PILECHAIN_NODE=node, DATABASE_URL=shared_database_url())
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with asgi_server(env, tmp_path / "web.log", port), celery_worker(
            node_env(PILECHAIN_NODE="someone-else"), tmp_path / "other.log", node="someone-else"
        ):
            with celery_worker(env, tmp_path / "worker.log", node=node) as worker:
                body = wait_for(lambda: _health(url, expect=200), timeout=60, what="a worker answering")
                workers = body["checks"]["celery"]["workers"]
                assert workers and all(w.startswith(node + "@") for w in workers)
                stop(worker)
            body = wait_for(lambda: _health(url, expect=503), timeout=30, what="/healthz 503")
            assert body["checks"]["celery"]["ok"] is False and body["checks"]["celery"]["workers"] == []
    finally:
        from django.conf import settings

        for name in (node, "someone-else"):  # the processes' empty SQLite folders
            shutil.rmtree(Path(settings.VAR_DIR) / name, ignore_errors=True)


def _production_env(**extra):
    base = {"PILECHAIN_PRODUCTION": "1", "PILECHAIN_EMBEDDED_REDIS_AUTOSTART": "0", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    base.update(extra)
    return node_env(**base)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_mode_refuses_to_start_without(missing):
    env = _production_env(SECRET_KEY=PRODUCTION_SECRET, ALLOWED_HOSTS="pilechain.example.org")
    env.pop(missing)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_mode_passes_the_deploy_check():
    env = _production_env(SECRET_KEY=PRODUCTION_SECRET, ALLOWED_HOSTS="pilechain.example.org")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_keeps_its_doors_shut():
    """HTTPS only (redirect, HSTS, secure cookies), the CSP, the login lockout, and the second factor
    when the node asks for it (docs/security.md)."""
    env = _production_env(SECRET_KEY=PRODUCTION_SECRET, ALLOWED_HOSTS="pilechain.example.org",
                          PILECHAIN_REQUIRE_2FA="1")
    result = manage("shell", "-v", "0", "-c", "from django.conf import settings as s; import json; print(json.dumps(["
                    "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
                    "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'], s.AXES_FAILURE_LIMIT, "
                    "s.REQUIRE_SECOND_FACTOR, s.DEBUG]))", env=env)
    assert json.loads(result.stdout) == [True, 31536000, True, True, ["'self'"], 5, True, False], result.stderr


def test_settings_read_the_local_time_zone_but_store_utc():
    env = node_env(PILECHAIN_LOCAL_TZ="Europe/Berlin", PILECHAIN_EMBEDDED_REDIS_AUTOSTART="0")
    result = manage(
        "shell", "-v", "0", "-c", "from django.conf import settings; import json;"
        " print(json.dumps([settings.TIME_ZONE, settings.USE_TZ]))", env=env,
    )
    assert json.loads(result.stdout) == ["Europe/Berlin", True], result.stderr
