"""T-c (short form): Redis stops while deliveries arrive. They are still acknowledged and
stored, and processed (numbered and answered) once Redis is back — by the real server,
Celery worker and beat, against a Redis server this test starts, stops and restarts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings

from bench.common import WhatsAppGraphDouble, start_graph_double
from channels_ingest.models import Delivery
from complaints.choices import DeliveryStatus, Direction
from complaints.models import Message
from tests.channels.conftest import SECRETS
from tests.channels.test_forgery_and_duplicates import meta_sign
from tests.results import write_result
from tests.servers import ROOT, asgi_server, free_port

REDIS = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(REDIS is None, reason="needs redis-server to start its own Redis"),
]


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [REDIS or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        for _ in range(50):
            if (
                subprocess.run(
                    [REDIS_CLI, "-p", str(self.port), "ping"], capture_output=True, check=False
                ).stdout.strip()
                == b"PONG"
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def provider() -> Iterator[str]:
    server = start_graph_double()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def whatsapp_text(n: int) -> bytes:
    message = {
        "from": f"62812000{n:05d}",
        "id": f"wamid.OUTAGE{n}",
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


def wait_for(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return bool(condition())


@pytest.mark.django_db(transaction=True)
def test_deliveries_during_a_redis_outage_are_kept_and_processed_when_it_returns(
    accounts: Any, provider: str
) -> None:
    db = settings.DATABASES["default"]
    redis = Redis()
    redis.start()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": redis.url,
        "WHATSAPP_API_BASE": provider,
        "ADUAN_CHANNEL_SWEEP_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    celery = [sys.executable, "-m", "celery", "--app", "config"]
    worker = subprocess.Popen(
        [*celery, "worker", "--concurrency", "1", "--loglevel", "WARNING", "--without-heartbeat"],
        cwd=ROOT,
        env=env,
    )
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "WARNING", "--schedule", "/tmp/aduan-test-beat"],  # noqa: S108
        cwd=ROOT,
        env=env,
    )
    processed = Delivery.objects.filter(state=Delivery.State.PROCESSED)
    try:
        with asgi_server(env) as base, httpx.Client(base_url=base, timeout=10) as http:

            def post(n: int) -> int:
                body = whatsapp_text(n)
                headers = {"X-Hub-Signature-256": meta_sign(body, SECRETS["META_APP_SECRET"])}
                headers["Content-Type"] = "application/json"
                return http.post(
                    "/webhooks/whatsapp/uji/", content=body, headers=headers
                ).status_code

            before = [post(n) for n in range(3)]
            answers = Message.objects.filter(
                direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.SENT
            )
            assert wait_for(lambda: processed.count() == 3 and answers.count() == 3, 60)

            redis.stop()
            began = time.monotonic()
            during = [post(n) for n in range(3, 13)]
            outage_seconds = time.monotonic() - began
            assert Delivery.objects.count() == 13  # stored before they were acknowledged
            redis.start()
            recovered = wait_for(lambda: processed.count() == 13, 90)
            recovery_seconds = time.monotonic() - began - outage_seconds
            answered = wait_for(lambda: answers.count() == 13, 60)
    finally:
        for process in (beat, worker):
            process.terminate()
        for process in (beat, worker):
            process.wait(timeout=20)
        redis.stop()

    write_result(
        "T-c-short",
        {
            "acknowledged_before": before.count(200),
            "acknowledged_during_outage": during.count(200),
            "outage_post_seconds": round(outage_seconds, 2),
            "processed_after_return_seconds": round(recovery_seconds, 1),
            "messages": Message.objects.filter(direction=Direction.INBOUND).count(),
            "provider_sends": len(WhatsAppGraphDouble.sent),
        },
    )
    assert before == [200] * 3 and during == [200] * 10
    assert recovered and answered
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 13
    assert len(WhatsAppGraphDouble.sent) == 13
