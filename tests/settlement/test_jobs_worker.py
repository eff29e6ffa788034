"""The settlement jobs on real processes: this node's web server (uvicorn) and a Celery worker, each
its own process on the test database (transactional, so they see what the test wrote). A client
starts the jobs over HTTP with API tokens; the worker runs settlement.close_areas and
settlement.export_statement; the client follows the job to its file.

The test process plays the node's drain loop: it holds the drain lease, so the ledger.drive a worker
sends itself on start never drives this node's replica, and it commits what the jobs submitted with
commit_pending.
"""

from __future__ import annotations

import re
import zlib

import pytest
import requests

from ledger.models import CommittedTx, Submission
from ledger.runtime import lease
from registry import services
from registry.models import User
from settlement.models import Statement
from tests.processes import asgi_server, celery_worker, free_port, node_env, shared_database_url, wait_for
from tests.settlement.month import local, ready_to_close
from tests.utils.ledger import commit_pending

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NODE = "OP-A"  # the node the test process is (tests/conftest.py: ledger_node)


@pytest.fixture
def node_url(world, settings, tmp_path):
    assert lease.acquire("the test process", ttl_s=3600) is not None
    env = node_env(PILECHAIN_NODE=NODE, DATABASE_URL=shared_database_url(),
                   PILECHAIN_CONSORTIUM=str(settings.LEDGER_CONSORTIUM_FILE))
    assert env.get("PILECHAIN_KEYS_DIR"), "the node's keys (ledger_node sets them in the environment)"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with asgi_server(env, tmp_path / "web.log", port), celery_worker(env, tmp_path / "worker.log", node=NODE):
        # 200 once the web process reaches the database, Redis and a worker of this node.
        wait_for(lambda: requests.get(f"{url}/healthz", timeout=5).status_code == 200, timeout=90,
                 what=f"/healthz of {NODE}")
        yield url
    print("worker log (shown when the test fails):\n", (tmp_path / "worker.log").read_text()[-5000:])


def token(username: str) -> dict:
    _, key = services.api_token_create(actor=User.objects.get(username=username), name=f"{username} jobs",
                                       staff_role="manager")
    return {"Authorization": f"Token {key}"}


def finished(url: str, headers: dict) -> dict:
    def state():
        job = requests.get(url, headers=headers, timeout=10).json()
        return job if job["state"] in ("done", "failed") else None

    return wait_for(state, timeout=60, interval=0.3, what=f"job {url}")


def pdf_text(data: bytes) -> bytes:
    """The page content of a PDF (fpdf2 deflates its streams)."""
    text = b""
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text += zlib.decompress(stream)
        except zlib.error:
            text += stream
    return text


def test_close_areas_and_export_jobs_run_on_a_worker(node_url, world):
    ready_to_close(world)
    grid, operator, other = token("grid_manager"), token("a_manager"), token("b_manager")
    api = f"{node_url}/api/settlement"

    # A period not over on the ledger: every area refused, the job failed and says why; nothing submitted.
    started = requests.post(f"{api}/jobs/close-areas/", json={"period": "2030-04"}, headers=grid, timeout=10)
    job = finished(f"{node_url}{started.json()['url']}", grid)
    assert (job["state"], job["done"], job["detail"]) == (
        "failed", 1, "AREA-1: period: The period 2030-04 is not over yet on the ledger."), job
    assert not Submission.objects.filter(type="settlement.period_close").exists()

    # Closing every area of the grid company (AREA-1) as a job: the worker submits the period_close.
    started = requests.post(f"{api}/jobs/close-areas/", json={"period": "2030-03"}, headers=grid, timeout=10)
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == started.json()["url"]
    job = finished(f"{node_url}{started.json()['url']}", grid)
    assert (job["state"], job["done"], job["total"], job["percent"], job["detail"]) == ("done", 1, 1, 100, ""), job
    [closing] = Submission.objects.filter(type="settlement.period_close")
    assert closing.status == "pending" and closing.submitted_by.institution.code == "GRID-1"
    assert closing.body["payload"] == {"area": "AREA-1", "period": "2030-03"}
    commit_pending(at=local(2030, 4, 2))
    assert CommittedTx.objects.get(tx_id=closing.tx_id).status == "applied"
    statement = Statement.objects.get()
    assert (statement.period, statement.operator.code, statement.energy_wh) == ("2030-03", "OP-A", 9000)

    # The operator exports it as PDF through a job; the file is that statement.
    started = requests.post(f"{api}/statements/{statement.uid}/exports/", json={"format": "pdf"}, headers=operator,
                            timeout=10)
    assert started.status_code == 202, started.text
    job_url = f"{node_url}{started.json()['url']}"
    job = finished(job_url, operator)
    assert (job["state"], job["percent"], job["kind"]) == ("done", 100, "export-pdf"), job
    assert job["done"] == job["total"] == 2  # the statement's items: flat and peak
    download = requests.get(f"{node_url}{job['download']}", headers={**operator, "Accept": "application/pdf"},
                            timeout=10)
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == 'attachment; filename="statement-2030-03-AREA-1-OP-A.pdf"'
    assert download.content.startswith(b"%PDF")
    content = pdf_text(download.content)
    assert f"id {statement.uid}".encode() in content and b"PILE-A1" in content and b"Settlement statement 2030-03" in content

    # Another institution sees neither the job, nor its file, nor the statement.
    for path in (job_url, f"{node_url}{job['download']}", f"{api}/statements/{statement.uid}/"):
        refused = requests.get(path, headers=other, timeout=10)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", path

    # The same as CSV, read back.
    started = requests.post(f"{api}/statements/{statement.uid}/exports/", json={"format": "csv"}, headers=grid,
                            timeout=10)
    job = finished(f"{node_url}{started.json()['url']}", grid)
    assert job["state"] == "done", job
    csv = requests.get(f"{node_url}{job['download']}", headers=grid, timeout=10)
    assert csv.headers["Content-Type"] == "text/csv"
    lines = csv.text.splitlines()
    assert lines[0].startswith(f"statement,{statement.uid},period,2030-03,area,AREA-1,operator,OP-A")
    assert [line.split(",")[:3] for line in lines[2:4]] == [["PILE-A1", "flat", "6000"], ["PILE-A1", "peak", "3000"]]
    assert lines[4] == "subtotal,7.29,discount,0.00,total,7.29"
