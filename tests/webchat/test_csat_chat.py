"""Outcome CSAT in the web chat: the question appears in the conversation when the ticket
is resolved, and the citizen's "5 ya" is their answer."""

from __future__ import annotations

from typing import Any

import pytest

from complaints.choices import Status
from complaints.models import Rating, Ticket
from tests.quality.steps import resolved_and_asked
from webchat import services
from webchat.models import ChatEvent

pytestmark = pytest.mark.django_db


def chat_resolved(agent: Any) -> tuple[services.Started, Ticket]:
    """A chat whose complaint the agent resolved (the question asked in the chat)."""
    started = services.start_conversation(name="Sari")
    services.send(started.conversation.pk, text="Air mati tiga hari", client_msg_id="m1")
    started.conversation.refresh_from_db()
    ticket = started.conversation.ticket
    assert ticket is not None
    return started, resolved_and_asked(ticket, agent, "Air mengalir")


def test_the_question_is_in_the_chat_and_the_reply_answers_it(agent: Any) -> None:
    started, _ticket = chat_resolved(agent)

    asked = ChatEvent.objects.filter(conversation=started.conversation).latest("seq")
    assert "Balas YA atau TIDAK" in asked.text

    services.send(started.conversation.pk, text="5 ya, terima kasih", client_msg_id="m2")

    rating = Rating.objects.get()
    assert (rating.score, rating.solved, rating.comment, rating.channel) == (
        5,
        True,
        "terima kasih",
        "webchat",
    )


def test_a_late_answer_in_the_chat_after_closing_opens_no_complaint(agent: Any) -> None:
    started, ticket = chat_resolved(agent)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)

    services.send(started.conversation.pk, text="tidak. masih mati", client_msg_id="m2")

    assert Ticket.objects.count() == 1
    rating = Rating.objects.get()
    assert (rating.solved, rating.comment) == (False, "masih mati")
    assert Ticket.objects.get().status == Status.CLOSED  # reviewed, not reopened
