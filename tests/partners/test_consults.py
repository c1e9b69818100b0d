"""Consult requests: an agent asks another body a scoped question carrying only an
excerpt; the body answers on the partner site or API and sees nothing else of the ticket;
the citizen reads that the ticket waits on the body, never what was asked or answered."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail as outbox
from django.test import Client
from rest_framework.test import APIClient

from complaints import services as complaints
from complaints.choices import EventKind
from complaints.models import TicketEvent
from escalation import services as sla
from escalation.models import Clock, ClockKind, Escalation, EscalationContact
from partners import services as partners
from partners.models import ConsultRequest, ConsultState, Organisation
from tests.escalation.policies import around_the_clock
from tests.partners.conftest import triaged

pytestmark = pytest.mark.django_db
EXCERPT = "Pasien rawat inap 3 hari, klaim ditolak karena kode diagnosis."
QUESTION = "Mengapa klaim BPJS pasien ini ditolak?"


def token_client(user: Any) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(user)}")
    return api


@pytest.fixture
def asked(agent: Any, citizen_user: Any, other_org: Organisation) -> ConsultRequest:
    around_the_clock()
    ticket = triaged(agent, citizen_user, subject="Klaim BPJS ditolak, pasien diminta bayar")
    return partners.ask(
        ticket=ticket, organisation=other_org, by=agent, question=QUESTION, excerpt=EXCERPT
    )


def test_the_citizen_reads_what_it_waits_on_and_not_the_excerpt(
    asked: ConsultRequest, citizen_user: Any
) -> None:
    detail = token_client(citizen_user).get(f"/api/v1/tickets/{asked.ticket.number}/").json()
    text = str(detail)
    assert "Menunggu Apotek Z sejak" in text
    assert EXCERPT not in text and QUESTION not in text


def test_the_body_reads_only_the_excerpt_and_answers_once(
    asked: ConsultRequest, other_partner_user: Any, citizen_user: Any
) -> None:
    api = token_client(other_partner_user)
    listed = api.get("/api/v1/partner/consults/").json()["results"]
    assert [(c["id"], c["excerpt"], c["question"]) for c in listed] == [
        (asked.pk, EXCERPT, QUESTION)
    ]
    assert asked.ticket.number not in str(listed)  # not even its number
    ticket_url = f"/api/v1/partner/tickets/{asked.ticket.number}/"
    assert api.get(ticket_url).status_code == 404
    assert api.get("/api/v1/partner/tickets/").json()["results"] == []
    blank = api.post(f"/api/v1/partner/consults/{asked.pk}/answer/", {"answer": ""}, format="json")
    assert blank.status_code == 400
    answer = "Kode diagnosis salah; rumah sakit mengajukan ulang klaim."
    answered = api.post(
        f"/api/v1/partner/consults/{asked.pk}/answer/", {"answer": answer}, format="json"
    )
    assert answered.status_code == 200 and answered.json()["state"] == "answered"
    again = api.post(f"/api/v1/partner/consults/{asked.pk}/answer/", {"answer": "x"}, format="json")
    assert again.status_code == 409
    event = TicketEvent.objects.get(ticket=asked.ticket, kind=EventKind.CONSULT_ANSWERED)
    assert event.internal_note == answer  # the agents read it on the ticket
    assert Clock.objects.get(pk=asked.clock_id).stopped_at is not None
    citizen = str(token_client(citizen_user).get(f"/api/v1/tickets/{asked.ticket.number}/").json())
    assert "Apotek Z sudah menjawab." in citizen and answer not in citizen


def test_other_organisations_never_see_the_request(
    asked: ConsultRequest, partner_user: Any, agent: Any
) -> None:
    api = token_client(partner_user)
    assert api.get("/api/v1/partner/consults/").json()["results"] == []
    assert api.get(f"/api/v1/partner/consults/{asked.pk}/").status_code == 404
    answer = {"answer": "Bukan urusan kami."}
    url = f"/api/v1/partner/consults/{asked.pk}/answer/"
    assert api.post(url, answer, format="json").status_code == 404
    assert token_client(agent).get("/api/v1/partner/consults/").status_code == 403
    site = Client()
    site.force_login(partner_user)
    assert site.get(f"/partner/partners/consultrequest/{asked.pk}/change/").status_code == 404
    assert (
        site.post(f"/partner/partners/consultrequest/{asked.pk}/answer/", answer).status_code == 404
    )
    asked.refresh_from_db()
    assert asked.state == ConsultState.OPEN


def test_the_body_answers_on_the_partner_site(
    asked: ConsultRequest, other_partner_user: Any
) -> None:
    site = Client()
    site.force_login(other_partner_user)
    page = site.get(f"/partner/partners/consultrequest/{asked.pk}/change/").content.decode()
    assert EXCERPT in page and 'id="answer"' in page
    site.post(f"/partner/partners/consultrequest/{asked.pk}/answer/", {"answer": "Sudah dicek."})
    asked.refresh_from_db()
    assert asked.state == ConsultState.ANSWERED and asked.answer == "Sudah dicek."


def test_an_overdue_consult_escalates_to_the_bodys_contacts(
    agent: Any, other_org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    around_the_clock(first_response_minutes=100_000, resolution_minutes=200_000)
    EscalationContact.objects.create(
        organisation=other_org, level=1, name="Verifikator", email="verif@bpjs.example"
    )
    ticket = triaged(agent)
    consult = partners.ask(
        ticket=ticket, organisation=other_org, by=agent, question=QUESTION, minutes=30
    )
    assert consult.due_at == consult.asked_at + timedelta(minutes=30)
    assert sla.sweep(consult.asked_at + timedelta(minutes=29)).escalations == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(consult.asked_at + timedelta(minutes=31)).escalations == 1
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.clock.kind == ClockKind.CONSULT
    assert [m.to for m in outbox.outbox] == [["verif@bpjs.example"]]


def test_resolving_the_ticket_withdraws_open_requests(asked: ConsultRequest, agent: Any) -> None:
    complaints.transition_ticket(
        ticket=asked.ticket, transition="resolve", by=agent, reason="Selesai.", summary="ok"
    )
    asked.refresh_from_db()
    assert asked.state == ConsultState.WITHDRAWN


def test_agents_ask_in_their_admin(agent: Any, other_org: Organisation) -> None:
    ticket = triaged(agent)
    client = Client()
    client.force_login(agent)
    answer = client.post(
        "/admin/partners/consultrequest/add/",
        {
            "ticket": ticket.pk,
            "organisation": other_org.pk,
            "question": QUESTION,
            "excerpt": EXCERPT,
            "minutes": "120",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    consult = ConsultRequest.objects.get(ticket=ticket)
    assert (consult.excerpt, consult.asked_by) == (EXCERPT, agent)
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.CONSULT_OPENED).count() == 1


def test_the_body_is_told_by_email_without_the_ticket(
    agent: Any, other_org: Organisation, django_capture_on_commit_callbacks: Any
) -> None:
    other_org.email = "verifikasi@bpjs.example"
    other_org.save()
    ticket = triaged(agent)
    with django_capture_on_commit_callbacks(execute=True):
        partners.ask(
            ticket=ticket, organisation=other_org, by=agent, question=QUESTION, excerpt=EXCERPT
        )
    (mail,) = outbox.outbox
    assert mail.to == ["verifikasi@bpjs.example"] and QUESTION in mail.body
    assert ticket.number not in mail.subject + mail.body and EXCERPT not in mail.body
