"""Provider deliveries through the real server: the event-loop receiver in front of Django
must give the view's answers (REFERENCE 0.1) and store exactly what the view stores."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection

from channels_ingest.models import ChannelAccount, Delivery
from tests.channels.conftest import SECRETS
from tests.channels.stack import whatsapp_headers, whatsapp_text
from tests.servers import asgi_server, server_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PATH = "/webhooks/whatsapp/uji/"


@pytest.fixture
def account(transactional_db: None) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="whatsapp",
        slug="uji",
        name="Uji",
        address="109876543210987",
        webhook_secret=SECRETS["META_APP_SECRET"],
        verify_token=SECRETS["META_VERIFY_TOKEN"],
        access_token="wa-access-token",
    )


@pytest.fixture
def server(account: ChannelAccount) -> Iterator[httpx.Client]:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS": "0.5",
        "ADUAN_INGEST_WAKE_SECONDS": "3600",  # no worker here: keep the rows pending
        "ADUAN_WEBHOOK_WRITERS": "3",
    }
    with asgi_server(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        yield http


def post(http: httpx.Client, body: bytes, secret: str | None = None, **headers: str) -> Any:
    sent = whatsapp_headers(body, secret or SECRETS["META_APP_SECRET"]) | headers
    return http.post(PATH, content=body, headers=sent)


def stored() -> list[str]:
    return list(Delivery.objects.order_by("pk").values_list("external_id", flat=True))


def test_the_server_verifies_stores_once_and_refuses_like_the_view(
    server: httpx.Client,
) -> None:
    body = whatsapp_text(1)
    assert post(server, body).status_code == 200
    assert post(server, body).status_code == 200  # the provider's retry
    assert stored() == ["wamid.STACK1"]
    assert Delivery.objects.get().state == Delivery.State.PENDING

    forged = post(server, whatsapp_text(2), secret="not-the-app-secret")
    assert forged.status_code == 403
    assert forged.json()["code"] == "forbidden"
    unsigned = server.post(PATH, content=whatsapp_text(3))
    assert unsigned.status_code == 403
    unreadable = post(server, b"{not json")
    assert unreadable.status_code == 400
    assert unreadable.json()["code"] == "invalid"
    too_large = post(server, b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + whatsapp_text(4))
    assert too_large.status_code == 413
    assert stored() == ["wamid.STACK1"]

    # What the receiver does not own goes on to Django, with Django's answers.
    unknown = server.post("/webhooks/whatsapp/lain/", content=whatsapp_text(5))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    challenge = server.get(
        PATH,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": SECRETS["META_VERIFY_TOKEN"],
            "hub.challenge": "1158201444",
        },
    )
    assert (challenge.status_code, challenge.text) == (200, "1158201444")
    other_host = post(server, whatsapp_text(6), Host="evil.example")
    assert other_host.status_code == 400
    assert stored() == ["wamid.STACK1"]


def test_an_account_changed_in_the_admin_is_followed_within_the_cache_time(
    server: httpx.Client, account: ChannelAccount
) -> None:
    assert post(server, whatsapp_text(1)).status_code == 200
    account.webhook_secret = "rotated-app-secret"
    account.save()
    time.sleep(0.7)
    assert post(server, whatsapp_text(2)).status_code == 403
    assert post(server, whatsapp_text(3), secret="rotated-app-secret").status_code == 200
    account.is_active = False
    account.save()
    time.sleep(0.7)
    assert post(server, whatsapp_text(4), secret="rotated-app-secret").status_code == 404
    assert stored() == ["wamid.STACK1", "wamid.STACK3"]


def test_a_connection_cut_by_the_database_is_replaced_without_losing_the_delivery(
    server: httpx.Client,
) -> None:
    assert post(server, whatsapp_text(1)).status_code == 200
    with connection.cursor() as cursor:  # what a database restart does to the server's
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert post(server, whatsapp_text(2)).status_code == 200
    assert stored() == ["wamid.STACK1", "wamid.STACK2"]


def test_concurrent_senders_are_each_answered_after_their_delivery_is_stored(
    server: httpx.Client,
) -> None:
    async def send_all() -> list[int]:
        async with httpx.AsyncClient(base_url=str(server.base_url), timeout=40) as http:

            async def one(n: int) -> int:
                body = whatsapp_text(n)
                headers = whatsapp_headers(body)
                return (await http.post(PATH, content=body, headers=headers)).status_code

            return await asyncio.gather(*(one(n % 150) for n in range(300)))

    statuses = asyncio.run(send_all())

    assert statuses == [200] * 300  # each delivery twice, in groups that overlap
    assert sorted(stored()) == sorted(f"wamid.STACK{n}" for n in range(150))


def test_a_sender_that_hangs_up_mid_body_stores_nothing(server: httpx.Client) -> None:
    body = whatsapp_text(1)
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {whatsapp_headers(body)['X-Hub-Signature-256']}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((server.base_url.host, server.base_url.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
    assert post(server, whatsapp_text(2)).status_code == 200  # served after the hang-up

    assert stored() == ["wamid.STACK2"]
