"""The partner API: a partner's systems list and read their organisation's tickets (past
ones read-only, contact details masked), and accept, update, finish and return them;
everything else is 403, 404 or 409."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from complaints import services as complaints
from complaints.choices import AuthorKind
from complaints.models import Message, Ticket
from partners import services as partners
from partners.models import Organisation
from tests.partners.conftest import triaged

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/partner/tickets/"


def client_for(user: Any) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(user)}")
    return api


def dispatched(agent: Any, organisation: Organisation, citizen_user: Any = None) -> Ticket:
    ticket = triaged(agent, citizen_user)
    return partners.dispatch(
        ticket=ticket, organisation=organisation, by=agent, reason="Mohon antar obat."
    )


@pytest.fixture
def phone_citizen(citizen_user: Any) -> Any:
    citizen = citizen_user.citizen
    citizen.name, citizen.phone, citizen.email = "Budi Santoso", "+6281234567890", "budi@x.id"
    citizen.save()
    return citizen_user


def test_a_partner_lists_what_its_organisation_holds_and_held(
    agent: Any,
    partner_org: Organisation,
    partner_user: Any,
    other_org: Organisation,
    django_assert_max_num_queries: Any,
) -> None:
    now = dispatched(agent, partner_org)
    before = dispatched(agent, partner_org)
    partners.return_ticket(ticket=before, by=partner_user, reason="Stok habis.")
    dispatched(agent, other_org)
    triaged(agent)  # never dispatched
    api = client_for(partner_user)
    listed = api.get(TICKETS)
    assert listed.status_code == 200
    rows = {row["number"]: row for row in listed.json()["results"]}
    assert set(rows) == {now.number, before.number}
    assert rows[now.number]["is_current"] and not rows[before.number]["is_current"]
    assert rows[before.number]["assignment"]["outcome"] == "returned"
    for _ in range(5):
        dispatched(agent, partner_org)
    with django_assert_max_num_queries(8):  # the same few queries for 2 or 7 tickets
        assert len(api.get(TICKETS).json()["results"]) == 7


def test_contact_details_are_masked_unless_the_job_needs_them(
    agent: Any, partner_org: Organisation, partner_user: Any, phone_citizen: Any
) -> None:
    ticket = dispatched(agent, partner_org, phone_citizen)
    detail = client_for(partner_user).get(f"{TICKETS}{ticket.number}/").json()
    assert detail["citizen"] == {
        "name": "Budi Santoso",
        "phone": "+62812*****890",
        "email": "b***@x.id",
    }
    assert detail["address"] == "Jl. Melati 5, Depok"  # the delivery address is the job
    partner_org.sees_citizen_contact = True
    partner_org.save()
    detail = client_for(partner_user).get(f"{TICKETS}{ticket.number}/").json()
    assert detail["citizen"]["phone"] == "+6281234567890"


def test_partners_never_read_the_agents_internal_notes(
    agent: Any, partner_org: Organisation, partner_user: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    complaints.post_message(
        ticket=ticket,
        body="Rahasia internal.",
        author_kind=AuthorKind.AGENT,
        by=agent,
        is_internal=True,
    )
    bodies = [
        m["body"]
        for m in client_for(partner_user).get(f"{TICKETS}{ticket.number}/").json()["messages"]
    ]
    assert "Rahasia internal." not in bodies
    assert any("Resep sudah seminggu" in body for body in bodies)


def test_the_actions_through_the_api(
    agent: Any, partner_org: Organisation, partner_user: Any, citizen_user: Any
) -> None:
    ticket = dispatched(agent, partner_org, citizen_user)
    api = client_for(partner_user)
    url = f"{TICKETS}{ticket.number.lower()}/"
    accepted = api.post(f"{url}accept/")
    assert accepted.status_code == 200 and accepted.json()["assignment"]["accepted_at"]
    assert api.post(f"{url}updates/", {"body": ""}, format="json").status_code == 400
    note = api.post(f"{url}updates/", {"body": "Kurir: Pak Joko.", "internal": True}, format="json")
    assert note.status_code == 201
    update = api.post(f"{url}updates/", {"body": "Obat dikirim sore ini."}, format="json")
    assert update.status_code == 201 and update.json()["assignment"]["updates"] == 2
    citizen = client_for(citizen_user).get(f"/api/v1/tickets/{ticket.number}/").json()
    said = [e.get("body") for e in citizen["timeline"] if e["type"] == "message"]
    assert "Obat dikirim sore ini." in said and "Kurir: Pak Joko." not in said
    missing = api.post(f"{url}done/", {}, format="json")
    assert missing.status_code == 400 and "summary" in missing.json()["fields"]
    done = api.post(f"{url}done/", {"summary": "Obat diterima warga."}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "in_progress"
    assert not done.json()["is_current"]
    for path, body in (("accept/", {}), ("updates/", {"body": "x"}), ("return/", {"reason": "x"})):
        assert api.post(f"{url}{path}", body, format="json").status_code == 409
    assert Message.objects.filter(ticket=ticket, author_kind=AuthorKind.PARTNER).count() == 2


def test_others_tickets_are_404_and_other_roles_403(
    agent: Any,
    partner_org: Organisation,
    partner_user: Any,
    other_org: Organisation,
    citizen_user: Any,
) -> None:
    theirs = dispatched(agent, other_org)
    nobody = triaged(agent)
    api = client_for(partner_user)
    for ticket in (theirs, nobody):
        assert api.get(f"{TICKETS}{ticket.number}/").status_code == 404
        for path in ("accept/", "updates/", "done/", "return/"):
            assert (
                api.post(f"{TICKETS}{ticket.number}/{path}", {}, format="json").status_code == 404
            )
    assert api.get(f"{TICKETS}ADU-0000-000000/").status_code == 404
    for user in (agent, citizen_user):
        assert client_for(user).get(TICKETS).status_code == 403
    assert APIClient().get(TICKETS).status_code == 401
    theirs.refresh_from_db()
    assert not theirs.partner_assignments.get().accepted_at
