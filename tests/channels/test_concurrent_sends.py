"""Acknowledgements go out several at once from a real Celery worker: a provider that takes
a while to answer does not hold the others back, and each is still sent exactly once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bench.common import WhatsAppGraphDouble, start_graph_double
from complaints.choices import DeliveryStatus, Direction
from complaints.models import Message, Ticket
from tests.channels.stack import STACK_MARKS, full_stack, wait_for, whatsapp_headers

pytestmark = STACK_MARKS
SENDERS = 12


@pytest.fixture
def slow_provider() -> Iterator[str]:
    """The Graph API double, answering each send after 300 ms."""
    server = start_graph_double(latency=0.3)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def complaints(count: int) -> bytes:
    """One WhatsApp delivery with the first messages of `count` senders."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "628111900112", "phone_number_id": "109876543210987"},
        "contacts": [
            {"profile": {"name": f"Warga {n}"}, "wa_id": f"6281400{n:06d}"} for n in range(count)
        ],
        "messages": [
            {
                "from": f"6281400{n:06d}",
                "id": f"wamid.SLOW{n}",
                "timestamp": "1772593320",
                "type": "text",
                "text": {"body": f"Aduan {n}"},
            }
            for n in range(count)
        ],
    }
    entry = {"id": "1", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


@pytest.mark.django_db(transaction=True)
def test_a_groups_acknowledgements_are_sent_at_once_and_each_once(
    accounts: Any, slow_provider: str
) -> None:
    sent = Message.objects.filter(direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.SENT)
    with full_stack(slow_provider, beat=False) as stack:
        body = complaints(SENDERS)
        answer = httpx.post(
            f"{stack.base}/webhooks/whatsapp/uji/", content=body, headers=whatsapp_headers(body)
        )
        assert answer.status_code == 200
        assert wait_for(lambda: sent.count() == SENDERS, 60)

    assert Ticket.objects.count() == SENDERS
    recipients = [s["to"] for s in WhatsAppGraphDouble.sent]
    assert sorted(recipients) == sorted(f"6281400{n:06d}" for n in range(SENDERS))
    assert WhatsAppGraphDouble.peak > 1
