"""The Celery app; configuration comes from Django settings (namespace CELERY_)."""

import gc
import logging
import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

WORKER_CONNECTION_NAME = "aduan-worker"
BEAT_LOCK = 0x616475616E62  # the advisory lock only one beat holds ("aduanb")

logger = logging.getLogger(__name__)

app = Celery("aduan")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fix-up closes every database connection before and after every task,
# unless this (read under its old name) is set; then it closes them every this many
# tasks. A new connection per task was a new PostgreSQL backend (and its catalog reads)
# per task; a broken one is replaced before the next task (`_check_connections`).
app.conf["CELERY_DB_REUSE_MAX"] = 1_000
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
        options = database.get("OPTIONS", {})
        if options.pop("pool", None) is not None:
            database["CONN_MAX_AGE"] = None  # kept while it works (health-checked)
        if database["ENGINE"].endswith("postgresql"):
            options["application_name"] = WORKER_CONNECTION_NAME  # seen in pg_stat_activity
        if "prepare_threshold" in options:
            # No prepared statements: a kept connection would run a prepared statement on
            # a generic plan, which cannot use a partial index whose condition is a
            # parameter (the inbox claim, on `delivery_new`): it slowed as the table grew.
            # A task's few statements each handle a batch; planning them is cheap.
            options["prepare_threshold"] = None
    serve_in_background()
    # What is loaded by now lives as long as the process: out of the collector's sight,
    # as in the servers (config.asgi). While draining, collections took 5.7% of a worker
    # process's CPU, and 3.1% with this.
    gc.freeze()


@task_prerun.connect
def _check_connections(task: Any = None, **kwargs: Any) -> None:
    """Before each task in a worker, a connection that failed or outlived CONN_MAX_AGE is
    closed (the next query opens a new one), as Django does between requests. A task run
    eagerly runs inside its caller, whose connection is not the task's to close."""
    from django.db import close_old_connections

    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()


_beat_lock: Any = None  # the connection holding BEAT_LOCK, for as long as this beat runs


@beat_init.connect
def _only_one_beat(**kwargs: Any) -> None:
    """A second beat, started while one runs, exits: two would queue every sweep twice.

    The lock is a PostgreSQL session advisory lock on a connection of its own, so it goes
    with the beat however that ends (even SIGKILL closes its socket) and the next beat
    can start at once. (Without PostgreSQL there is one process and no beat.)
    """
    global _beat_lock
    import psycopg
    from django.db import connections

    database = connections["default"]
    if database.vendor != "postgresql":
        return
    params = database.get_connection_params()
    for driver_only in ("context", "cursor_factory"):
        params.pop(driver_only, None)
    params["application_name"] = "aduan-beat"
    held = psycopg.connect(**params, autocommit=True)
    row = held.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK]).fetchone()
    if not (row and row[0]):
        held.close()
        logger.error("another beat is running (it holds the beat lock): this one exits")
        raise SystemExit(1)
    _beat_lock = held
