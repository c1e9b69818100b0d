"""T-c, second variant: Redis hangs (SIGSTOP, then SIGCONT) while deliveries arrive — the
nastier case, where connections stay open and only timeouts tell. Webhooks are still
acknowledged within a second and stored; once Redis answers again the worker and beat
resume by themselves and everything is processed.

Short form: a 10 s hang. RELIABILITY_FULL=1: 30 s, as RELIABILITY describes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pytest

from channels_ingest.models import Delivery
from complaints.choices import Direction
from complaints.models import Message
from tests.channels.stack import (
    STACK_MARKS,
    full_stack,
    provider,
    wait_for,
    whatsapp_headers,
    whatsapp_text,
)
from tests.results import write_result

pytestmark = STACK_MARKS
FULL = bool(os.environ.get("RELIABILITY_FULL"))
HANG_SECONDS = 30 if FULL else 10
__all__ = ["provider"]  # the provider API double, used as a fixture here


@pytest.mark.django_db(transaction=True)
def test_a_hung_redis_delays_processing_but_never_an_acknowledgement(
    accounts: Any, provider: str
) -> None:
    settled = Delivery.objects.exclude(state=Delivery.State.PENDING)
    with (
        full_stack(provider) as stack,
        httpx.Client(base_url=stack.base, timeout=10) as http,
    ):

        def post(n: int) -> tuple[int, float]:
            body = whatsapp_text(30_000 + n)
            began = time.perf_counter()
            status = http.post(
                "/webhooks/whatsapp/uji/", content=body, headers=whatsapp_headers(body)
            )
            return status.status_code, time.perf_counter() - began

        before = [post(n) for n in range(3)]
        assert wait_for(lambda: settled.count() == 3, 60)

        stack.redis.hang()
        hang_began = time.monotonic()
        during: list[tuple[int, float]] = []
        n = 3
        while time.monotonic() - hang_began < HANG_SECONDS:
            during.append(post(n))
            n += 1
            time.sleep(0.2)
        stored_during = Delivery.objects.count()
        stack.redis.resume()
        resumed = time.monotonic()
        recovered = wait_for(lambda: settled.count() == n, 120)
        recovery_seconds = time.monotonic() - resumed

    latencies = sorted(seconds for _, seconds in during)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    write_result(
        "T-c2" if FULL else "T-c2-short",
        {
            "hang_seconds": HANG_SECONDS,
            "deliveries_during_hang": len(during),
            "acknowledged_during_hang": sum(status == 200 for status, _ in during),
            "p99_ack_ms_during_hang": round(p99 * 1000, 1),
            "processed_after_return_seconds": round(recovery_seconds, 1),
        },
    )
    assert [status for status, _ in before + during] == [200] * n
    assert stored_during == n  # stored before they were acknowledged
    assert p99 <= 1.0  # RELIABILITY: webhook p99 during the outage
    assert recovered
    assert Message.objects.filter(direction=Direction.INBOUND).count() == n
