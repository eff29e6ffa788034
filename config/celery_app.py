"""The node's Celery application; settings come from Django's, namespace CELERY."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("pilechain")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="pilechain.ping")
def ping() -> str:
    """Answered by any live worker; /healthz and the tests use it to see a worker round-trip."""
    return "pong"
