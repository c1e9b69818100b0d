"""`manage.py runsmtpd --host 127.0.0.1 --port 8025`: the SMTP receiver for inbound mail."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from channels_ingest import smtpd


class Command(BaseCommand):
    help = "Receive inbound mail over SMTP for the mailbox accounts (behind the mail server)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        controller = smtpd.start(host, port)
        self.stdout.write(f"Receiving mail on {host}:{port}")
        try:
            stopping.wait()
        finally:
            controller.stop()
