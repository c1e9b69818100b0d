"""Outcome CSAT through the API and the e-mail link: asked at each resolution, answered
once per resolution; "not solved" reopens and tells the assignee; low answers are
reviewed by supervisors."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from complaints.choices import AuthorKind, Channel, Status
from complaints.models import Message, Rating, Ticket
from complaints.services import post_message, transition_ticket
from quality.models import CsatSurvey, Review, ReviewReason
from quality.services import survey_link
from tests.complaints.test_lifecycle import ticket_in

pytestmark = pytest.mark.django_db


def resolved(ticket: Ticket, agent: User) -> Ticket:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return transition_ticket(
            ticket=ticket, transition="resolve", by=agent, reason="Obat sudah diantar"
        )


@pytest.fixture
def app(citizen_user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(citizen_user)
    return client


@pytest.fixture
def api_ticket(citizen_user: User, agent: User) -> Ticket:
    agent.email = "petugas@aduan.example"
    agent.save()
    return ticket_in(
        "in_progress", citizen=citizen_user.citizen, channel=Channel.API, assignee=agent
    )


def rate(app: APIClient, ticket: Ticket, **answer: Any) -> Any:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return app.post(f"/api/v1/tickets/{ticket.number}/rating/", answer, format="json")


def test_each_resolution_is_asked_once_and_answered_over_the_api(
    app: APIClient, api_ticket: Ticket, agent: User
) -> None:
    resolved(api_ticket, agent)
    survey = CsatSurvey.objects.get()
    assert (survey.resolution_round, survey.channel, survey.sent_at) == (0, "api", None)
    assert not Message.objects.filter(ticket=api_ticket).exists()  # the app shows the ask

    response = rate(app, api_ticket, score=4, solved=True, comment="Cepat")

    assert response.status_code == 201, response.json()
    assert response.json()["solved"] is True and response.json()["score"] == 4
    rating = Rating.objects.get()
    assert (rating.score, rating.solved, rating.channel) == (4, True, "api")
    survey.refresh_from_db()
    assert survey.answered_at is not None
    assert not Review.objects.exists()
    assert rate(app, api_ticket, score=5).status_code == 409  # once per resolution


def test_not_solved_reopens_tells_the_assignee_and_is_reviewed(
    app: APIClient, api_ticket: Ticket, agent: User
) -> None:
    resolved(api_ticket, agent)

    response = rate(app, api_ticket, score=2, solved=False, comment="Obatnya kurang")

    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=api_ticket.pk)
    assert (ticket.status, ticket.reopen_count) == (Status.IN_PROGRESS, 1)
    event = ticket.events.latest("pk")
    assert event.kind == "reopened" and "belum selesai" in event.public_reason
    assert {r.reason for r in Review.objects.all()} == {
        ReviewReason.LOW_SCORE,
        ReviewReason.NOT_SOLVED,
    }
    [notice] = mail.outbox
    assert notice.to == ["petugas@aduan.example"] and ticket.number in notice.subject
    assert "Obatnya kurang" in notice.body

    resolved(ticket, agent)  # the second resolution is asked again
    assert CsatSurvey.objects.filter(ticket=ticket).count() == 2
    assert rate(app, ticket, score=5, solved=True).status_code == 201
    assert Rating.objects.filter(ticket=ticket).count() == 2


def test_an_answer_needs_a_score_or_a_verdict(
    app: APIClient, api_ticket: Ticket, agent: User
) -> None:
    resolved(api_ticket, agent)

    response = rate(app, api_ticket, comment="hmm")

    assert response.status_code == 400 and "score" in response.json()["fields"]
    assert not Rating.objects.exists()


def test_the_email_question_carries_a_signed_link_that_records_the_answer(agent: User) -> None:
    ticket = ticket_in("in_progress", channel=Channel.EMAIL, assignee=agent)
    resolved(ticket, agent)
    question = Message.objects.get(ticket=ticket, author_kind=AuthorKind.SYSTEM)
    survey = CsatSurvey.objects.get()
    link = survey_link(survey)
    assert link in question.body and "Balas YA" not in question.body  # answered by link
    path = link.split("8000", 1)[1]
    browser = Client()

    page = browser.get(path + "?solved=yes")
    assert page.status_code == 200 and ticket.number in page.content.decode()
    assert not Rating.objects.exists()  # opening the link records nothing

    answered = browser.post(path, {"score": "5", "solved": "yes", "comment": "Terima kasih"})

    assert answered.status_code == 200 and 'id="thanks"' in answered.content.decode()
    rating = Rating.objects.get()
    assert (rating.score, rating.solved, rating.channel) == (5, True, "email")
    again = browser.post(path, {"score": "1", "solved": "no"})
    assert 'id="thanks"' in again.content.decode() and Rating.objects.count() == 1
    assert browser.get(path[:-3] + "xx/").status_code == 404  # a forged token


def test_the_question_is_not_sent_when_the_ticket_was_reopened_meanwhile(agent: User) -> None:
    ticket = ticket_in("in_progress", channel=Channel.EMAIL, assignee=agent)
    transition_ticket(ticket=ticket, transition="resolve", by=agent, reason="Selesai")
    post_message(ticket=ticket, body="Belum!", author_kind=AuthorKind.CITIZEN)
    transition_ticket(ticket=ticket, transition="reopen", by=None, reason="Warga menulis lagi")
    from quality.services import send_question

    assert send_question(CsatSurvey.objects.get().pk) is False
    assert not Message.objects.filter(ticket=ticket, author_kind=AuthorKind.SYSTEM).exists()


def test_a_link_for_an_earlier_resolution_records_nothing(agent: User) -> None:
    ticket = ticket_in("in_progress", channel=Channel.EMAIL, assignee=agent)
    resolved(ticket, agent)
    first = CsatSurvey.objects.get()
    transition_ticket(ticket=ticket, transition="reopen", by=None, reason="Warga menulis lagi")
    resolved(Ticket.objects.get(pk=ticket.pk), agent)
    path = survey_link(first).split("8000", 1)[1]

    response = Client().post(path, {"score": "1", "solved": "no"})

    assert response.status_code == 400 and "earlier resolution" in response.content.decode()
    assert not Rating.objects.exists()


def test_not_solved_on_a_closed_ticket_is_reviewed_without_a_reopen_notice(
    app: APIClient, api_ticket: Ticket, agent: User
) -> None:
    resolved(api_ticket, agent)
    Ticket.objects.filter(pk=api_ticket.pk).update(status=Status.CLOSED)

    assert rate(app, api_ticket, solved=False).status_code == 201

    assert Ticket.objects.get(pk=api_ticket.pk).status == Status.CLOSED
    assert list(Review.objects.values_list("reason", flat=True)) == [ReviewReason.NOT_SOLVED]
    assert mail.outbox == []
