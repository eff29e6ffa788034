"""The README's run command, as a newcomer starts it: no DATABASE_URL, no REDIS_URL (a SQLite file
per node, one embedded Redis server), four institution nodes, demo data sent through the ledger."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest
import requests

from tests.processes import ROOT, free_port, node_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.consortium]


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _login(url: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/accounts/login/", timeout=10)
    s.post(f"{url}/accounts/login/", data={"username": "admin", "password": "pilechain-demo",
                                           "csrfmiddlewaretoken": s.cookies["csrftoken"]},
           headers={"Referer": f"{url}/accounts/login/"}, timeout=10)
    assert "sessionid" in s.cookies
    return s


def test_the_run_command_brings_up_an_embedded_consortium_that_commits(tmp_path):
    base = next(p for p in iter(free_port, None) if all(_free(p + i) for i in range(4)))
    ports = [base, base + 1, base + 2, base + 3]
    env = node_env(DATABASE_URL=None, REDIS_URL=None, PILECHAIN_VAR_DIR=str(tmp_path), PORT=str(base),
                   PILECHAIN_CONSORTIUM=None, PILECHAIN_NODE=None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: "Press Ctrl-C to stop" in log.read_text() or proc.poll() is not None,
                 timeout=400, what="the run command to finish starting")
        text = log.read_text()
        assert proc.poll() is None, text
        for port in ports:
            assert f"http://127.0.0.1:{port}/" in text, text
        assert "operator_a" in text and "regulator" in text

        sessions = {port: _login(f"http://127.0.0.1:{port}") for port in ports}

        def state():
            found = {(s.get(f"http://127.0.0.1:{p}/api/ledger/status/", timeout=10).json()["applied_height"],
                      s.get(f"http://127.0.0.1:{p}/api/ledger/status/", timeout=10).json()["state_root"])
                     for p, s in sessions.items()}
            return found.pop() if len(found) == 1 else None

        height, _ = wait_for(state, timeout=60, what="the four nodes at one height and state root")
        assert height >= 3  # areas, then stations, then piles and boxes
        # The demo piles, registered at the operator's node, are at the regulator's with their height.
        piles = sessions[ports[3]].get(f"http://127.0.0.1:{ports[3]}/api/piles/", timeout=10).json()["results"]
        assert len(piles) == 6 and all(p["height"] >= 1 for p in piles)
        # The simulated charge points connect to the operator's gateway at once: their charging
        # sessions, recorded at the operator's node, reach the regulator's through the ledger.
        regulator = sessions[ports[3]]

        def sessions_at_regulator():
            body = regulator.get(f"http://127.0.0.1:{ports[3]}/api/settlement/sessions/", timeout=10).json()
            return body.get("results", body) if isinstance(body, dict) else body

        assert wait_for(sessions_at_regulator, timeout=120, what="charging sessions at the regulator's node")
        for port in ports:
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        assert (tmp_path / "OPERATOR-A" / "db.sqlite3").exists()  # embedded mode: a file per node
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, log.read_text()[-3000:]
    time.sleep(0.5)
    for port in ports:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
