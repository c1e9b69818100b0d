"""Outcome CSAT on WhatsApp, end to end: the question goes out when the ticket is
resolved; the citizen's "2 tidak …" is their answer, which reopens the ticket; a message
that is not an answer stays a message."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from complaints.choices import Direction, Status
from complaints.models import Message, Rating, Ticket
from quality.models import Review
from tests.channels.conftest import Deliver, sample
from tests.channels.test_forgery_and_duplicates import meta_sign
from tests.quality.steps import resolved_and_asked

pytestmark = pytest.mark.django_db


def citizen_writes(deliver: Deliver, n: int, text: str) -> None:
    payload = json.loads(sample("whatsapp_text.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.CSAT{n}"
    message["text"]["body"] = text
    body = json.dumps(payload).encode()
    deliver("whatsapp", body, {"X-Hub-Signature-256": meta_sign(body)})


def test_the_question_goes_out_and_a_digit_reply_is_the_answer(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter, agent: Any
) -> None:
    deliver.case("wa-text")
    ticket = resolved_and_asked(Ticket.objects.get(), agent, "Diantar")

    asked = json.loads(provider.calls.last.request.content)
    assert "Balas YA atau TIDAK" in asked["text"]["body"]

    citizen_writes(deliver, 1, "Terima kasih ya pak")  # not an answer
    assert not Rating.objects.exists()
    citizen_writes(deliver, 2, "2 tidak, obatnya kurang satu")

    rating = Rating.objects.get()
    assert (rating.score, rating.solved, rating.comment, rating.channel) == (
        2,
        False,
        "obatnya kurang satu",
        "whatsapp",
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.reopen_count == 1
    assert Review.objects.filter(ticket=ticket).count() == 2
    inbound = Message.objects.filter(ticket=ticket, direction=Direction.INBOUND)
    assert inbound.count() == 3  # every message is kept in the conversation


def test_a_late_answer_after_the_ticket_closed_stays_on_it(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter, agent: Any
) -> None:
    deliver.case("wa-text")
    ticket = resolved_and_asked(Ticket.objects.get(), agent, "Diantar")
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)  # closed after 7 days

    citizen_writes(deliver, 3, "5 ya")

    assert Ticket.objects.count() == 1  # no complaint opened by "5 ya"
    rating = Rating.objects.get()
    assert (rating.ticket_id, rating.score, rating.solved) == (ticket.pk, 5, True)

    citizen_writes(deliver, 4, "Lampu jalan mati sejak kemarin")  # a new complaint
    assert Ticket.objects.count() == 2
