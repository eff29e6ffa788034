"""A real browser on a phone-sized screen watches a job's progress bar move and gets the download."""

import uuid

import pytest
from django.test import Client

from tests.gateway.live import live_server
from tests.monitoring.test_browser import page  # noqa: F401  (the phone-sized Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_progress_bar_polls_the_job_row(consortium, page):  # noqa: F811
    from settlement.models import JobProgress

    user = consortium.users["grid_manager"]
    job = JobProgress.objects.create(uid=uuid.uuid4(), kind="close", user=user, total=4, done=0, state="running")
    client = Client()
    client.force_login(user)
    with live_server() as ws_url:
        url = ws_url.replace("ws://", "http://")
        page.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])
        tab = page.new_page()
        tab.goto(f"{url}/settlement/jobs/{job.uid}/")
        tab.wait_for_selector("#job-text:has-text('0 / 4')", timeout=10_000)
        assert tab.is_hidden("#job-download")
        JobProgress.objects.filter(pk=job.pk).update(done=2)
        tab.wait_for_function("() => document.getElementById('job-bar').value == 50", timeout=10_000)
        JobProgress.objects.filter(pk=job.pk).update(done=4, state="done", result=b"a,b\n", result_name="x.csv")
        tab.wait_for_selector("#job-download", state="visible", timeout=10_000)
        assert tab.evaluate("document.getElementById('job-bar').value") == 100
        assert not tab.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        with tab.expect_download() as download:
            tab.click("#job-download")
        assert download.value.suggested_filename == "x.csv"
