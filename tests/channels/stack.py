"""The whole product on this machine for the fault drills: its own Redis server (so a
test can stop, hang or flush it), the ASGI server, a Celery worker and, if asked, beat,
all pointed at the test database and at a local double of the providers' APIs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from bench.common import start_graph_double
from tests.channels.conftest import SECRETS
from tests.channels.test_forgery_and_duplicates import meta_sign
from tests.servers import ROOT, asgi_server, free_port, server_database_url

REDIS = shutil.which("redis-server")
# The marks of a test that runs the whole stack: PostgreSQL, and a Redis it starts.
STACK_MARKS = [
    pytest.mark.postgres,
    pytest.mark.skipif(REDIS is None, reason="needs redis-server to start its own Redis"),
]
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"


class Redis:
    """A Redis server of the test's own, on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [REDIS or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        if not wait_for(lambda: self.cli("ping") == b"PONG", 5):
            raise RuntimeError("redis-server did not start")

    def cli(self, *command: str) -> bytes:
        answer = subprocess.run(
            [REDIS_CLI, "-p", str(self.port), *command], capture_output=True, check=False
        )
        return answer.stdout.strip()

    def stop(self) -> None:
        """Killed: connections refused, queues gone."""
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)

    def hang(self) -> None:
        """Stopped (SIGSTOP): connections stay open and nothing answers."""
        if self.process:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return bool(condition())


def whatsapp_text(n: int) -> bytes:
    """A WhatsApp text message from sender n, as Meta delivers it."""
    message = {
        "from": f"62812000{n:05d}",
        "id": f"wamid.STACK{n}",
        "timestamp": "1772593320",
        "type": "text",
        "text": {"body": f"Aduan nomor {n}: obat isoman belum datang"},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "628111900112", "phone_number_id": "109876543210987"},
        "contacts": [{"profile": {"name": f"Warga {n}"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def whatsapp_headers(body: bytes, secret: str = SECRETS["META_APP_SECRET"]) -> dict[str, str]:
    """What Meta sends with `body`: its type, and its signature with the app secret."""
    return {"Content-Type": "application/json", "X-Hub-Signature-256": meta_sign(body, secret)}


@pytest.fixture
def provider() -> Iterator[str]:
    """The providers' APIs, doubled on a local port."""
    server = start_graph_double()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@dataclass(frozen=True)
class Stack:
    base: str  # the server's URL
    redis: Redis


@contextmanager
def full_stack(
    provider: str, *, web_workers: int = 1, celery_workers: int = 1, beat: bool = True
) -> Iterator[Stack]:
    redis = Redis()
    redis.start()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": redis.url,
        "WHATSAPP_API_BASE": provider,
        "META_GRAPH_API_BASE": provider,
        "TELEGRAM_API_BASE": provider,
        "X_API_BASE": provider,
        "ADUAN_CHANNEL_SWEEP_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    celery = [sys.executable, "-m", "celery", "--app", "config"]
    worker = ["worker", "--concurrency", str(celery_workers), "--without-heartbeat"]
    processes = [
        subprocess.Popen(
            [*celery, *worker, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=env,
        )
    ]
    if beat:
        schedule = f"/tmp/aduan-test-beat-{redis.port}"  # noqa: S108
        processes.append(
            subprocess.Popen(
                [*celery, "beat", "--loglevel", "WARNING", "--schedule", schedule],
                cwd=ROOT,
                env=env,
            )
        )
    try:
        with asgi_server(env, workers=web_workers) as base:
            yield Stack(base, redis)
    finally:
        redis.resume()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        redis.stop()
