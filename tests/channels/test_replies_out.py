"""Agents' replies go out on the citizen's channel; WhatsApp's 24-hour window is kept."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from django.utils import timezone

from channels_ingest.models import ChannelAccount
from complaints import services
from complaints.choices import AuthorKind, DeliveryStatus, Direction
from complaints.models import Message, Ticket
from tests.channels.conftest import Deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def whatsapp_ticket(deliver: Deliver, accounts: Any, provider: respx.MockRouter) -> Ticket:
    deliver.case("wa-text")
    return Ticket.objects.get()


def reply(
    ticket: Ticket,
    agent: Any,
    capture: Any,
    body: str = "Obat dikirim ulang hari ini.",
    in_reply_to: Message | None = None,
) -> Message:
    with capture(execute=True):
        message = services.post_message(
            ticket=ticket,
            body=body,
            author_kind=AuthorKind.AGENT,
            by=agent,
            in_reply_to=in_reply_to,
        )
    message.refresh_from_db()
    return message


def citizen_wrote(ticket: Ticket, ago: timedelta) -> None:
    Message.objects.filter(ticket=ticket, direction=Direction.INBOUND).update(
        created_at=timezone.now() - ago
    )


def test_inside_the_window_the_reply_goes_as_text(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    citizen_wrote(whatsapp_ticket, timedelta(hours=23))
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks)
    body = json.loads(provider.calls.last.request.content)
    assert (body["type"], body["text"]["body"]) == ("text", "Obat dikirim ulang hari ini.")
    assert (sent.delivery_status, sent.delivery_note) == (DeliveryStatus.SENT, "")
    whatsapp_ticket.refresh_from_db()
    assert whatsapp_ticket.first_response_at == sent.created_at


def test_outside_the_window_it_goes_as_the_configured_template_and_says_so(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ChannelAccount.objects.filter(kind="whatsapp").update(
        settings={"whatsapp_template": {"name": "status_pengaduan_diperbarui", "language": "id"}}
    )
    citizen_wrote(whatsapp_ticket, timedelta(hours=23, minutes=56))  # inside the 5-minute margin
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks, "Obat\ndikirim ulang.")
    body = json.loads(provider.calls.last.request.content)
    assert body["type"] == "template"
    assert body["template"]["name"] == "status_pengaduan_diperbarui"
    parameters = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert parameters[0] == whatsapp_ticket.number
    assert parameters[1] == "Obat dikirim ulang."  # template parameters take no newlines
    assert sent.delivery_status == DeliveryStatus.SENT
    assert "template" in sent.delivery_note and "24 hours" in sent.delivery_note


def test_outside_the_window_without_a_template_the_agent_is_told_why(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    citizen_wrote(whatsapp_ticket, timedelta(days=2))
    calls = len(provider.calls)
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks)
    assert sent.delivery_status == DeliveryStatus.FAILED
    assert "24-hour window" in sent.delivery_error
    assert len(provider.calls) == calls


def test_a_provider_outage_is_retried_then_reported(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    route = provider["whatsapp"].respond(
        503, json={"error": {"code": 131000, "message": "Something went wrong"}}
    )
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks)
    assert route.call_count == 1 + 6  # the acknowledgement, then the reply: 1 try + 5 retries
    assert sent.delivery_status == DeliveryStatus.FAILED
    assert "131000" in sent.delivery_error


def test_a_provider_that_cannot_be_reached_is_retried_then_reported(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    route = provider["whatsapp"].mock(side_effect=httpx.ConnectError("connection refused"))
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks)
    assert route.call_count == 1 + 6  # the acknowledgement, then the reply: 1 try + 5 retries
    assert sent.delivery_status == DeliveryStatus.FAILED
    assert sent.delivery_error == "ConnectError: connection refused"


def test_a_permanent_refusal_is_not_retried(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    route = provider["whatsapp"].respond(
        400,
        json={"error": {"code": 131030, "message": "Recipient phone number not in allowed list"}},
    )
    sent = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks)
    assert route.call_count == 1 + 1  # the acknowledgement, then the reply once
    assert (sent.delivery_status, sent.delivery_error.split(":")[0]) == (
        DeliveryStatus.FAILED,
        "131030",
    )


def test_provider_calls_carry_no_cookie_an_earlier_answer_set(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A cookie one account's call was given must not go out on the next call, which may
    # be another institution's account on the same provider.
    ids = itertools.count(1)
    provider.routes["whatsapp"].side_effect = lambda request: httpx.Response(
        200,
        json={"messages": [{"id": f"wamid.COOKIE{next(ids)}"}]},
        headers={"Set-Cookie": "session=from-the-provider; Path=/"},
    )
    citizen_wrote(whatsapp_ticket, timedelta(hours=1))
    first = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks, "Pertama.")
    second = reply(whatsapp_ticket, agent, django_capture_on_commit_callbacks, "Kedua.")
    assert (first.delivery_status, second.delivery_status) == (DeliveryStatus.SENT,) * 2
    calls = provider.routes["whatsapp"].calls
    assert [json.loads(c.request.content)["text"]["body"] for c in calls][-2:] == [
        "Pertama.",
        "Kedua.",
    ]
    assert [c.request.headers.get("cookie") for c in calls] == [None] * len(calls)
    assert calls.last.request.headers["authorization"] == "Bearer wa-access-token"


def test_a_reply_to_an_old_message_goes_as_text_when_the_citizen_wrote_since(
    whatsapp_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # The message answered is outside the window, a later one is not: the window is open.
    old = Message.objects.get(ticket=whatsapp_ticket, direction=Direction.INBOUND)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=30))
    old.refresh_from_db()
    services.post_message(
        ticket=whatsapp_ticket,
        body="Masih belum datang.",
        author_kind=AuthorKind.CITIZEN,
        external_id="wamid.LATER",
    )
    sent = reply(
        whatsapp_ticket, agent, django_capture_on_commit_callbacks, "Kami cek ke gudang.", old
    )
    body = json.loads(provider.calls.last.request.content)
    assert (body["type"], body["context"]["message_id"]) == ("text", old.external_id)
    assert (sent.delivery_status, sent.delivery_error) == (DeliveryStatus.SENT, "")
