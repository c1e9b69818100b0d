"""T-c (short form): Redis stops while deliveries arrive. They are still acknowledged and
stored, and processed (numbered and answered) once Redis is back — by the real server,
Celery worker and beat, against a Redis server this test starts, stops and restarts."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from bench.common import WhatsAppGraphDouble
from channels_ingest.models import Delivery
from complaints.choices import DeliveryStatus, Direction
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
__all__ = ["provider"]  # the provider API double, used as a fixture here


@pytest.mark.django_db(transaction=True)
def test_deliveries_during_a_redis_outage_are_kept_and_processed_when_it_returns(
    accounts: Any, provider: str
) -> None:
    processed = Delivery.objects.filter(state=Delivery.State.PROCESSED)
    with (
        full_stack(provider) as stack,
        httpx.Client(base_url=stack.base, timeout=10) as http,
    ):

        def post(n: int) -> int:
            body = whatsapp_text(n)
            headers = whatsapp_headers(body)
            return http.post("/webhooks/whatsapp/uji/", content=body, headers=headers).status_code

        before = [post(n) for n in range(3)]
        answers = Message.objects.filter(
            direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.SENT
        )
        assert wait_for(lambda: processed.count() == 3 and answers.count() == 3, 60)

        stack.redis.stop()
        began = time.monotonic()
        during = [post(n) for n in range(3, 13)]
        outage_seconds = time.monotonic() - began
        assert Delivery.objects.count() == 13  # stored before they were acknowledged
        stack.redis.start()
        recovered = wait_for(lambda: processed.count() == 13, 90)
        recovery_seconds = time.monotonic() - began - outage_seconds
        answered = wait_for(lambda: answers.count() == 13, 60)

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
