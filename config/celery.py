"""The Celery app; configuration comes from Django settings (namespace CELERY_)."""

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("aduan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _worker_process(**kwargs: Any) -> None:
    """A worker process keeps its own database connection and runs live pushes on a loop.

    The connection pool is for servers, where threads share a few connections; a worker
    process runs one task at a time, and handing its connection back after every task
    cost a new connection (and its session set-up) every few tasks.
    """
    from django.conf import settings

    from complaints.live import serve_in_background

    for database in settings.DATABASES.values():
        if database.get("OPTIONS", {}).pop("pool", None) is not None:
            database["CONN_MAX_AGE"] = None  # kept while it works (health-checked)
    serve_in_background()
