"""Runs the Celery beat schedule in-process: the embedded mode's stand-in for beat."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.celery import app

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run periodic tasks (SLA sweeps, auto-close) in this process, for use without Redis."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run every task once and exit.")

    def handle(self, *args: Any, once: bool = False, **options: Any) -> None:
        schedule = settings.CELERY_BEAT_SCHEDULE
        app.loader.import_default_modules()  # runs the tasks autodiscovery, as a worker does
        if missing := {e["task"] for e in schedule.values()} - set(app.tasks):
            raise CommandError(f"periodic tasks not found: {', '.join(sorted(missing))}")
        next_run = dict.fromkeys(schedule, 0.0)
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            now = time.monotonic()
            for name, entry in schedule.items():
                if now >= next_run[name]:
                    self._run(name, entry["task"])
                    next_run[name] = now + float(entry["schedule"])
            if once:
                return
            time.sleep(min(1.0, settings.ADUAN_PERIODIC_INTERVAL))

    def _run(self, name: str, task: str) -> None:
        try:
            result = app.tasks[task].apply().get()
        except Exception:  # one failing task must not stop the others
            logger.exception("periodic task %s failed", name)
        else:
            logger.info("periodic task %s: %s", name, result)
