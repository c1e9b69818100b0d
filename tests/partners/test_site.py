"""The partner site at /partner/: partner staff sign in, see their organisation's tickets
(past ones read-only, contacts masked), act through four buttons; others' tickets are 404
on every view."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from complaints.models import Message, Ticket
from partners import services as partners
from partners.models import Assignment, Organisation
from tests.factories import PASSWORD
from tests.partners.conftest import triaged

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def dispatched(agent: Any, organisation: Organisation) -> Ticket:
    return partners.dispatch(
        ticket=triaged(agent), organisation=organisation, by=agent, reason="Mohon antar obat."
    )


def change_url(ticket: Ticket, tail: str = "change/") -> str:
    return f"/partner/complaints/ticket/{ticket.pk}/{tail}"


def test_partner_staff_sign_in_here_and_nobody_else_does(
    partner_user: Any, agent: Any, citizen_user: Any
) -> None:
    client = Client()
    answer = client.post(
        "/partner/login/?next=/partner/", {"username": "partner-1", "password": PASSWORD}
    )
    assert answer.status_code == 302 and answer["Location"] == "/partner/"
    assert client.get("/partner/").status_code == 200
    assert client.get("/admin/").status_code == 302  # not the agents' admin
    for user in (agent, citizen_user):
        refused = Client().post(
            "/partner/login/", {"username": user.username, "password": PASSWORD}
        )
        assert refused.status_code == 200 and b"partner staff account" in refused.content
        assert signed_in(user).get("/partner/").status_code == 302  # to the login page


def test_the_list_shows_only_the_organisations_tickets(
    agent: Any, partner_org: Organisation, partner_user: Any, other_org: Organisation
) -> None:
    ours = dispatched(agent, partner_org)
    theirs = dispatched(agent, other_org)
    nobodys = triaged(agent)
    client = signed_in(partner_user)
    page = client.get("/partner/complaints/ticket/").content.decode()
    assert ours.number in page
    assert theirs.number not in page and nobodys.number not in page
    searched = client.get(f"/partner/complaints/ticket/?q={theirs.number}").content.decode()
    assert "0 results" in searched and "1 total" in searched  # the term echoed, nothing found


def test_others_tickets_are_404_on_every_view(
    agent: Any, partner_org: Organisation, partner_user: Any, other_org: Organisation
) -> None:
    theirs = dispatched(agent, other_org)
    client = signed_in(partner_user)
    for tail in ("change/", "history/", "delete/", "act/accept/"):
        method = client.post if tail.startswith("act/") else client.get
        assert method(change_url(theirs, tail)).status_code == 404, tail
    assert client.get("/partner/complaints/ticket/add/").status_code == 403
    assert not Assignment.objects.get(ticket=theirs).accepted_at


def test_the_four_actions(agent: Any, partner_org: Organisation, partner_user: Any) -> None:
    ticket = dispatched(agent, partner_org)
    client = signed_in(partner_user)
    page = client.get(change_url(ticket)).content.decode()
    assert 'id="act-accept"' in page and 'id="act-done"' in page
    assert client.get(change_url(ticket, "act/accept/")).status_code == 405
    assert client.post(change_url(ticket, "act/accept/")).status_code == 302
    client.post(change_url(ticket, "act/update/"), {"body": "Dikirim sore ini."})
    client.post(change_url(ticket, "act/update/"), {"body": "Kurir Joko.", "internal": "on"})
    stay = Assignment.objects.get(ticket=ticket)
    assert stay.accepted_at and stay.updates == 2
    internal = Message.objects.get(ticket=ticket, body="Kurir Joko.")
    assert internal.is_internal
    empty = client.post(change_url(ticket, "act/done/"), {"text": ""}, follow=True)
    assert "Say what was done" in empty.content.decode()
    client.post(change_url(ticket, "act/done/"), {"text": "Obat diterima."})
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"
    page = client.get(change_url(ticket)).content.decode()
    assert "read-only" in page and 'id="act-update"' not in page
    assert client.post(change_url(ticket, "act/update/"), {"body": "x"}).status_code == 409


def test_contacts_are_masked_on_the_page(
    agent: Any, partner_org: Organisation, partner_user: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    citizen = ticket.citizen
    citizen.name, citizen.phone = "Budi Santoso", "+6281234567890"
    citizen.save()
    page = signed_in(partner_user).get(change_url(ticket)).content.decode()
    assert "Budi Santoso" in page and "+62812*****890" in page
    assert "+6281234567890" not in page
