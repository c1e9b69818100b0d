"""The agents' first view in the admin: queue, conversation, allowed transitions only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.choices import AuthorKind
from complaints.models import Ticket
from complaints.services import post_message
from tests.complaints.test_lifecycle import ALLOWED, ticket_in
from tests.factories import MessageFactory, OrganisationFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def change_url(ticket: Ticket) -> str:
    return reverse("admin:complaints_ticket_change", args=[ticket.pk])


def offered(page: str) -> set[str]:
    return set(re.findall(r'id="transition-([a-z_]+)"', page))


def test_an_agent_logs_in_with_the_login_form(agent: User) -> None:
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "agent-1", "password": "correct horse battery staple"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_ticket_list_shows_the_queue_columns(agent_client: Client, agent: User) -> None:
    ticket = TicketFactory(subject="Obat belum datang", priority="high", assignee=agent)

    page = agent_client.get(reverse("admin:complaints_ticket_changelist")).content.decode()

    for text in (
        ticket.number,
        "Obat belum datang",
        str(ticket.citizen),
        "WhatsApp",
        "New",
        "High",
        "agent-1",
    ):
        assert text in page


def test_the_list_costs_the_same_queries_for_5_and_40_tickets(agent_client: Client) -> None:
    url = reverse("admin:complaints_ticket_changelist")
    TicketFactory.create_batch(5)
    agent_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url)
    TicketFactory.create_batch(35)
    with CaptureQueriesContext(connection) as many:
        agent_client.get(url)
    assert len(few) == len(many)


def test_search_finds_a_number_typed_in_lower_case_with_confusable_letters(
    agent_client: Client,
) -> None:
    wanted = TicketFactory(number="ADU-2611-10K0X1")
    TicketFactory(number="ADU-2611-22K0X2")
    url = reverse("admin:complaints_ticket_changelist")
    page = agent_client.get(url, {"q": "adu-2611-lokoxi"}).content.decode()
    assert wanted.number in page and "ADU-2611-22K0X2" not in page


@pytest.mark.parametrize(
    "state",
    [
        "new",
        "triaged",
        "in_progress",
        "waiting_citizen",
        "with_partner",
        "resolved",
        "closed",
        "rejected",
        "merged",
    ],
)
def test_the_ticket_page_offers_exactly_the_transitions_allowed_now(
    agent_client: Client, state: str
) -> None:
    ticket = ticket_in(state)
    page = agent_client.get(change_url(ticket)).content.decode()
    assert offered(page) == {name for (source, name) in ALLOWED if source == state}


def test_the_ticket_page_shows_the_whole_conversation_with_internal_notes_marked(
    agent_client: Client, agent: User
) -> None:
    ticket = ticket_in("in_progress")
    MessageFactory(ticket=ticket, body="Obat belum datang sejak kemarin")
    post_message(
        ticket=ticket,
        body="Apotek tutup Lebaran?",
        author_kind=AuthorKind.AGENT,
        by=agent,
        is_internal=True,
    )
    page = agent_client.get(change_url(ticket)).content.decode()
    assert "Obat belum datang sejak kemarin" in page
    assert "Apotek tutup Lebaran?" in page
    assert "Conversation" in page and "History" in page


def test_a_transition_with_its_reason_goes_through_the_service(
    agent_client: Client, agent: User
) -> None:
    ticket = ticket_in("in_progress")
    url = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "wait_for_citizen"])

    response = agent_client.post(url, {"version": 1, "reason": "Mohon foto resep", "note": "n"})

    assert response.status_code == 302 and response["Location"] == change_url(ticket)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.status == "waiting_citizen"
    event = stored.events.get()
    assert (event.actor, event.public_reason, event.internal_note) == (
        agent,
        "Mohon foto resep",
        "n",
    )


def test_a_missing_reason_or_a_stale_page_is_refused_with_a_message(agent_client: Client) -> None:
    ticket = ticket_in("in_progress")
    url = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "resolve"])

    no_reason = agent_client.post(url, {"version": 1, "reason": ""}, follow=True)
    stale = agent_client.post(url, {"version": 7, "reason": "Selesai"}, follow=True)

    assert "A reason the citizen can read is required" in no_reason.content.decode()
    assert "changed by someone else" in stale.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "in_progress"
    assert not Ticket.objects.get(pk=ticket.pk).events.exists()


def test_dispatch_and_merge_take_their_targets_from_the_form(agent_client: Client) -> None:
    partner = OrganisationFactory(name="Apotek Sehat")
    ticket, target = ticket_in("in_progress"), ticket_in("new")
    dispatch = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "dispatch"])
    agent_client.post(dispatch, {"version": 1, "reason": "Ke apotek", "partner": partner.pk})
    assert Ticket.objects.get(pk=ticket.pk).partner == partner

    other = ticket_in("new")
    merge = reverse("admin:complaints_ticket_transition", args=[other.pk, "merge"])
    agent_client.post(merge, {"version": 1, "reason": "Sama", "into": target.number.lower()})
    assert Ticket.objects.get(pk=other.pk).merged_into == target


def test_transitions_are_post_only(agent_client: Client) -> None:
    ticket = ticket_in("new")
    url = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "triage"])
    assert agent_client.get(url).status_code == 405
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def test_assign_to_me_and_editing_details_record_events(agent_client: Client, agent: User) -> None:
    ticket = ticket_in("triaged")
    agent_client.post(
        reverse("admin:complaints_ticket_assign_to_me", args=[ticket.pk]), {"version": 1}
    )
    form = {
        "subject": "Obat isoman",
        "category": "",
        "priority": "critical",
        "version": 2,
        "messages-TOTAL_FORMS": 0,
        "messages-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    response = agent_client.post(change_url(ticket), form)

    assert response.status_code == 302
    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee, stored.priority, stored.subject, stored.version) == (
        agent,
        "critical",
        "Obat isoman",
        3,
    )
    # Made critical: escalated at once as well (the critical lane).
    assert list(stored.events.values_list("kind", flat=True)) == [
        "assigned",
        "details_changed",
        "escalated",
    ]


def test_a_stale_edit_form_does_not_overwrite(agent_client: Client) -> None:
    ticket = ticket_in("triaged", priority="normal")
    form = {
        "subject": ticket.subject,
        "category": "",
        "priority": "low",
        "version": 0,
        "messages-TOTAL_FORMS": 0,
        "messages-INITIAL_FORMS": 0,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    response = agent_client.post(change_url(ticket), form, follow=True)
    assert "changed by someone else" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).priority == "normal"


def test_tickets_cannot_be_added_or_deleted_in_the_admin(agent_client: Client) -> None:
    ticket = ticket_in("new")
    assert agent_client.get(reverse("admin:complaints_ticket_add")).status_code == 403
    assert (
        agent_client.post(reverse("admin:complaints_ticket_delete", args=[ticket.pk])).status_code
        == 403
    )
    assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_partner_staff_and_citizens_have_no_way_into_the_agent_admin(
    partner_user: User, citizen_user: User, partner_org: Any
) -> None:
    ticket = ticket_in("with_partner", partner=partner_org)
    for user in (partner_user, citizen_user):
        client = Client()
        client.force_login(user)
        assert client.get(change_url(ticket)).status_code == 302  # to the login page
        url = reverse("admin:complaints_ticket_transition", args=[ticket.pk, "take_back"])
        client.post(url, {"version": 1})
    assert Ticket.objects.get(pk=ticket.pk).status == "with_partner"
