"""T-a: providers redeliver, often at once. Every webhook channel's messages, each fired
25 times concurrently at the real server (2 processes) with a Celery worker, are stored
and processed exactly once; Meta's regrouped redeliveries and a replay after Redis lost
everything change nothing; every delivery gets a 2xx.

Short form: 4 messages per channel (500 requests). RELIABILITY_FULL=1: 20 (2,500).
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from channels_ingest.models import Delivery
from complaints.choices import Direction
from complaints.models import Message, Ticket
from tests.channels.conftest import SECRETS, sample
from tests.channels.stack import STACK_MARKS, full_stack, provider, wait_for, whatsapp_text
from tests.channels.test_forgery_and_duplicates import meta_sign, x_sign
from tests.results import write_result

pytestmark = STACK_MARKS
FULL = bool(os.environ.get("RELIABILITY_FULL"))
PER_CHANNEL = 20 if FULL else 4
COPIES = 25
# RELIABILITY's figure; the short form runs in CI beside everything else on 2 cores.
P99_LIMIT = 0.3 if FULL else 1.0
__all__ = ["provider"]  # the provider API double, used as a fixture here

Delivered = tuple[str, bytes, dict[str, str]]  # path, body, headers


def _meta(kind: str, body: dict[str, Any]) -> Delivered:
    raw = json.dumps(body).encode()
    return f"/webhooks/{kind}/uji/", raw, {"X-Hub-Signature-256": meta_sign(raw)}


def _messenger(
    n: int, kind: str = "messenger", sample_name: str = "messenger_text.json"
) -> Delivered:
    body = json.loads(sample(sample_name))
    event = body["entry"][0]["messaging"][0]
    event["sender"]["id"] = f"70{n:014d}"
    event["message"]["mid"] = f"m_storm_{kind}_{n}"
    event["message"]["text"] = f"Pengaduan {kind} nomor {n}"
    return _meta(kind, body)


def _instagram(n: int) -> Delivered:
    return _messenger(n, "instagram", "instagram_dm.json")


def _whatsapp(n: int) -> Delivered:
    raw = whatsapp_text(10_000 + n)
    return "/webhooks/whatsapp/uji/", raw, {"X-Hub-Signature-256": meta_sign(raw)}


def _telegram(n: int) -> Delivered:
    body = json.loads(sample("telegram_text.json"))
    body["update_id"] = 900_000 + n
    message = body["message"]
    message["message_id"] = 5_000 + n
    message["from"]["id"] = message["chat"]["id"] = 6_000_000_000 + n
    message["text"] = f"Pengaduan telegram nomor {n}"
    raw = json.dumps(body).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_SECRET_TOKEN"]}
    return "/webhooks/telegram/uji/", raw, headers


def _x(n: int) -> Delivered:
    body = json.loads(sample("x_direct_message.json"))
    event = body["direct_message_events"][0]
    event["id"] = f"18970000000{n:08d}"
    sender = f"14000000000{n:08d}"
    body["users"][sender] = {**body["users"][event["message_create"]["sender_id"]], "id": sender}
    event["message_create"]["sender_id"] = sender
    event["message_create"]["message_data"]["text"] = f"Pengaduan X nomor {n}"
    raw = json.dumps(body).encode()
    secret = SECRETS["X_CONSUMER_SECRET"]
    return "/webhooks/x/uji/", raw, {"X-Twitter-Webhooks-Signature": x_sign(raw, secret)}


CHANNELS: dict[str, Callable[[int], Delivered]] = {
    "whatsapp": _whatsapp,
    "messenger": _messenger,
    "instagram": _instagram,
    "telegram": _telegram,
    "x": _x,
}


def _regrouped() -> list[Delivered]:
    """Three WhatsApp messages in one payload, then one by one, then in one payload again
    with the entries in another order (REFERENCE: Meta regroups redeliveries)."""
    singles = [json.loads(whatsapp_text(20_000 + n)) for n in range(3)]
    grouped = copy.deepcopy(singles[0])
    grouped["entry"] = [s["entry"][0] for s in singles]
    reordered = copy.deepcopy(grouped)
    reordered["entry"].reverse()
    bodies = [grouped, *singles, reordered]
    return [_meta("whatsapp", body) for body in bodies]


async def _fire(base: str, deliveries: list[Delivered], copies: int) -> list[tuple[int, float]]:
    """Each delivery `copies` times at once over `copies` connections: (status, seconds)."""
    limits = httpx.Limits(max_connections=copies, max_keepalive_connections=copies)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:

        async def post(delivered: Delivered) -> tuple[int, float]:
            path, body, headers = delivered
            began = time.perf_counter()
            response = await http.post(
                path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            return response.status_code, time.perf_counter() - began

        results: list[tuple[int, float]] = []
        for delivered in deliveries:
            results += await asyncio.gather(*(post(delivered) for _ in range(copies)))
        return results


def _p99(results: list[tuple[int, float]]) -> float:
    seconds = sorted(s for _, s in results)
    return seconds[max(0, int(len(seconds) * 0.99) - 1)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_redeliveries_on_every_channel_store_one_message_each(
    accounts: Any, provider: str
) -> None:
    deliveries = [make(n) for make in CHANNELS.values() for n in range(PER_CHANNEL)]
    expected = len(deliveries) + 3
    inbound = Message.objects.filter(direction=Direction.INBOUND)
    settled = Delivery.objects.exclude(state=Delivery.State.PENDING)
    with full_stack(provider, web_workers=2, celery_workers=2, beat=False) as stack:
        storm = asyncio.run(_fire(stack.base, deliveries, COPIES))
        regrouped = asyncio.run(_fire(stack.base, _regrouped(), 1))
        processed = wait_for(lambda: settled.count() == Delivery.objects.count(), 120)
        messages, tickets = inbound.count(), Ticket.objects.count()
        rows = Delivery.objects.count()
        stack.redis.cli("flushall")  # Redis loses everything: a day-late retry finds no cache
        replay = asyncio.run(_fire(stack.base, [*deliveries, *_regrouped()], 1))
        time.sleep(2)
        after_replay = (inbound.count(), Ticket.objects.count(), Delivery.objects.count())

    statuses = [status for status, _ in [*storm, *regrouped, *replay]]
    write_result(
        "T-a" if FULL else "T-a-short",
        {
            "requests": len(statuses),
            "non_2xx": sum(not 200 <= s < 300 for s in statuses),
            "messages": messages,
            "expected_messages": expected,
            "p99_ack_ms": round(_p99(storm) * 1000, 1),
            "new_rows_after_replay": after_replay[2] - rows,
        },
    )
    assert processed
    assert all(200 <= s < 300 for s in statuses)
    assert messages == expected  # 0 duplicates, 0 missing
    assert tickets == expected  # each message its own conversation start
    assert after_replay == (messages, tickets, rows)  # the late replay creates nothing
    assert _p99(storm) <= P99_LIMIT
