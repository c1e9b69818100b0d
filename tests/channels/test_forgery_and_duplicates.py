"""T-g: forged or altered deliveries are refused and store nothing. T-a (short): the same
delivery many times at once, on real PostgreSQL, gives one message and one answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import respx
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_ingest.models import Delivery
from channels_ingest.signatures import is_signed
from complaints.choices import Direction
from complaints.models import Message, Ticket
from tests.channels.conftest import SECRETS, sample, webhook_path
from tests.results import write_result

META = SECRETS["META_APP_SECRET"]
X = SECRETS["X_CONSUMER_SECRET"]
TELEGRAM = SECRETS["TELEGRAM_SECRET_TOKEN"]


def meta_sign(body: bytes, secret: str = META) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_sign(body: bytes, secret: str = X) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def forgeries(body: bytes, sign: Callable[..., str], header: str) -> list[dict[str, str]]:
    good = sign(body)
    redumped = json.dumps(json.loads(body), ensure_ascii=False).encode()
    return [
        {},
        {header: ""},
        {header: "sha1=" + hashlib.sha1(body).hexdigest()},  # noqa: S324 - a forgery
        {header: sign(body, "rahasia-lain")},
        {header: sign(body + b" ")},
        {header: sign(body[:-1])},
        {header: sign(redumped)},
        {header: good[:-4]},
        {header: good.upper()},
        {header: good + "00"},
        {header: "sha256="},
        {header: good.replace("sha256=", "")},
    ]


FORGED = [
    ("whatsapp", "whatsapp_text.json", meta_sign, "X-Hub-Signature-256"),
    ("messenger", "messenger_text.json", meta_sign, "X-Hub-Signature-256"),
    ("instagram", "instagram_dm.json", meta_sign, "X-Hub-Signature-256"),
    ("x", "x_direct_message.json", x_sign, "X-Twitter-Webhooks-Signature"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "file", "sign", "header"), FORGED, ids=[f[0] for f in FORGED])
def test_forged_signatures_are_refused_and_store_nothing(
    client: Client, accounts: Any, kind: str, file: str, sign: Any, header: str
) -> None:
    body = sample(file)
    codes = [
        client.post(webhook_path(kind), data=body, content_type="application/json", headers=h)
        for h in forgeries(body, sign, header)
    ]
    assert {r.status_code for r in codes} == {403}
    assert all(r.json() == {"code": "forbidden", "detail": "Invalid signature."} for r in codes)
    assert not Delivery.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_telegram_needs_its_own_secret_token(client: Client, accounts: Any) -> None:
    body = sample("telegram_text.json")
    for token in ("", "tg_Rahasia-Uji_2025", TELEGRAM + "x", TELEGRAM[:-1], "bot-lain"):
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        response = client.post(
            webhook_path("telegram"), data=body, content_type="application/json", headers=headers
        )
        assert response.status_code == 403
    assert not Delivery.objects.exists()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), header=st.text(max_size=80), use_true=st.booleans())
def test_a_delivery_is_accepted_exactly_when_its_signature_is_the_true_hmac(
    body: bytes, header: str, use_true: bool
) -> None:
    for kind, sign, name in (
        ("whatsapp", meta_sign, "X-Hub-Signature-256"),
        ("x", x_sign, "X-Twitter-Webhooks-Signature"),
    ):
        secret = META if kind == "whatsapp" else X
        given_header = sign(body) if use_true else header
        accepted = is_signed(kind, secret, {name: given_header}, body)
        assert accepted == (given_header == sign(body))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_twenty_times_at_once_is_one_message(
    accounts: Any, provider: respx.MockRouter
) -> None:
    body = sample("whatsapp_text.json")
    headers = {"X-Hub-Signature-256": meta_sign(body)}
    barrier = threading.Barrier(20)
    codes: list[int] = []

    def send() -> None:
        from django.db import connection

        try:
            barrier.wait()
            response = Client().post(
                webhook_path("whatsapp"),
                data=body,
                content_type="application/json",
                headers=headers,
            )
            codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    inbound = Message.objects.filter(direction=Direction.INBOUND).count()
    answers = Message.objects.filter(direction=Direction.OUTBOUND).count()
    write_result(
        "T-a-short",
        {"requests": 20, "responses_200": codes.count(200), "messages": inbound, "acks": answers},
    )
    assert codes == [200] * 20
    assert (Delivery.objects.count(), Ticket.objects.count(), inbound, answers) == (1, 1, 1, 1)
    assert len(provider.calls) == 1
