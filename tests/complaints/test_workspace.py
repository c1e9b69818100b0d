"""The agent's ticket page: the thread, the composer (channel reply or internal note,
canned responses, the status block), escalation with a reason and merge suggestions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints.choices import AuthorKind, Channel, Direction
from complaints.models import CannedResponse, Message, Ticket
from complaints.services import post_message, status_block, transition_ticket
from escalation.models import Escalation
from tests.complaints.test_admin import change_url
from tests.complaints.test_lifecycle import ticket_in
from tests.factories import CitizenFactory, MessageFactory, OrganisationFactory, TicketFactory

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 12, 3, 7, 30, tzinfo=UTC)  # 14:30 in Jakarta (WIB)


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def reply_url(ticket: Ticket) -> str:
    return reverse("admin:complaints_ticket_reply", args=[ticket.pk])


def flash(client: Client, ticket: Ticket) -> str:
    return unescape(client.get(change_url(ticket)).content.decode())


def working_ticket(**kwargs: object) -> Ticket:
    citizen = CitizenFactory(name="Sari Wulandari", preferred_language="id")
    return ticket_in("in_progress", citizen=citizen, resolution_due_at=DUE, **kwargs)


def test_a_reply_goes_on_the_citizens_channel_ending_with_the_status_block(
    agent_client: Client, agent: User
) -> None:
    ticket = working_ticket()

    response = agent_client.post(
        reply_url(ticket), {"body": "Kami cek ke apotek.", "mode": "reply"}
    )

    assert response.status_code == 302
    message = Message.objects.get(ticket=ticket)
    assert (message.direction, message.channel, message.is_internal) == (
        Direction.OUTBOUND,
        Channel.WHATSAPP,
        False,
    )
    assert message.author == agent and message.author_kind == AuthorKind.AGENT
    assert message.body == (
        "Kami cek ke apotek.\n\n"
        f"Status pengaduan {ticket.number}: Sedang ditangani\n"
        "Langkah berikut: Petugas sedang menindaklanjuti pengaduan Anda.\n"
        "Ditangani oleh: Tim Pengaduan\n"
        "Batas waktu: 3 Des 2026 pukul 14.30 WIB"
    )
    assert Ticket.objects.get(pk=ticket.pk).first_response_at == message.created_at


def test_the_status_block_names_the_partner_and_speaks_the_citizens_language() -> None:
    citizen = CitizenFactory(preferred_language="en")
    ticket = ticket_in(
        "with_partner", citizen=citizen, partner=OrganisationFactory(name="Apotek Sehat")
    )

    block = status_block(ticket)

    assert block.splitlines() == [
        f"Complaint status {ticket.number}: With a partner organisation",
        "Next step: A partner organisation is handling it; we follow it until it is done.",
        "Handled by: Apotek Sehat",
    ]  # no due time runs: no due line


def test_leaving_the_status_block_out_is_an_explicit_choice(agent_client: Client) -> None:
    ticket = working_ticket()

    agent_client.post(
        reply_url(ticket), {"body": "Terima kasih.", "mode": "reply", "without_status": "on"}
    )

    assert Message.objects.get(ticket=ticket).body == "Terima kasih."


def test_an_internal_note_is_not_sent_and_carries_no_status_block(agent_client: Client) -> None:
    ticket = working_ticket()

    agent_client.post(reply_url(ticket), {"body": "Apotek tutup, telepon besok.", "mode": "note"})

    note = Message.objects.get(ticket=ticket)
    assert note.is_internal and note.body == "Apotek tutup, telepon besok."
    assert note.delivery_status == ""
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None


def test_an_empty_reply_is_refused_and_nothing_is_stored(agent_client: Client) -> None:
    ticket = working_ticket()

    agent_client.post(reply_url(ticket), {"body": "   ", "mode": "reply"})

    assert not Message.objects.filter(ticket=ticket).exists()
    assert "Not sent" in flash(agent_client, ticket) or "Not done" in flash(agent_client, ticket)


def test_a_public_reply_with_personal_data_is_refused_and_without_it_goes_public(
    agent_client: Client,
) -> None:
    ticket = working_ticket(channel=Channel.X)
    MessageFactory(ticket=ticket, channel=Channel.X, is_public=True, body="@kota obat telat")

    agent_client.post(
        reply_url(ticket), {"body": "Hubungi kami di 0812-3456-7890 ya.", "mode": "reply"}
    )
    page = flash(agent_client, ticket)

    assert "A public reply cannot contain personal data" in page
    assert not Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND).exists()

    agent_client.post(reply_url(ticket), {"body": "Kami tindak lanjuti lewat DM.", "mode": "reply"})

    sent = Message.objects.get(ticket=ticket, direction=Direction.OUTBOUND)
    assert sent.is_public and sent.channel == Channel.X
    assert sent.body.endswith(
        "Batas waktu: 3 Des 2026 pukul 14.30 WIB"
    )  # the block passes the guard


def test_canned_responses_are_offered_filled_for_the_ticket(agent_client: Client) -> None:
    ticket = working_ticket()
    CannedResponse.objects.create(
        title="Diterima",
        body="Yth. {citizen_name}, pengaduan {ticket_number} ({status}) selesai paling lambat "
        "{due_at}.",
    )
    CannedResponse.objects.create(title="Lama", body="tidak dipakai", is_active=False)

    page = flash(agent_client, ticket)

    assert (
        f'data-text="Yth. Sari Wulandari, pengaduan {ticket.number} (Sedang ditangani) selesai '
        'paling lambat 3 Des 2026 pukul 14.30 WIB."'
    ) in page
    assert "tidak dipakai" not in page


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("Halo {nama}", "Unknown placeholders: nama"),
        ("Halo {citizen_name", "Malformed placeholder"),
    ],
)
def test_a_canned_response_with_a_wrong_placeholder_is_not_saved(
    supervisor: User, body: str, error: str
) -> None:
    client = Client()
    client.force_login(supervisor)

    response = client.post(
        reverse("admin:complaints_cannedresponse_add"),
        {"title": "Salah", "body": body, "is_active": "on"},
    )

    assert response.status_code == 200 and error in unescape(response.content.decode())
    assert not CannedResponse.objects.exists()


def test_the_thread_shows_messages_and_events_in_order_with_notes_marked(
    agent_client: Client, agent: User
) -> None:
    ticket = ticket_in("triaged")
    MessageFactory(ticket=ticket, body="Obat belum datang")
    transition_ticket(ticket=ticket, transition="start", by=agent, reason="Kami tangani")
    post_message(
        ticket=ticket,
        body="Cek stok dulu",
        author_kind=AuthorKind.AGENT,
        by=agent,
        is_internal=True,
    )

    page = flash(agent_client, ticket)
    thread = page[page.index('id="live-messages"') :]

    first = thread.index("Obat belum datang")
    event = thread.index("Citizen reads: Kami tangani")
    note = thread.index("Cek stok dulu")
    assert first < event < note
    assert re.search(
        r'class="live-message outbound internal"[^>]*>\s*<strong>[^<]*internal note', thread
    )


def test_escalating_needs_a_reason_and_raises_one_level(agent_client: Client, agent: User) -> None:
    ticket = working_ticket()
    url = reverse("admin:complaints_ticket_escalate", args=[ticket.pk])

    agent_client.post(url, {"reason": ""})
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 0

    agent_client.post(url, {"reason": "Warga lansia, obat habis"})

    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.escalation_level, stored.status) == (1, "in_progress")
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.level, escalation.reason, escalation.by) == (
        1,
        "Warga lansia, obat habis",
        agent,
    )


def test_the_merge_form_suggests_the_same_citizens_and_same_words_tickets(
    agent_client: Client,
) -> None:
    ticket = working_ticket(subject="Paket obat isoman belum diantar")
    same_citizen = TicketFactory(citizen=ticket.citizen, subject="Lain hal", status="new")
    same_words = TicketFactory(subject="Paket obat terlambat diantar", status="triaged")
    unrelated = TicketFactory(subject="Jalan berlubang", status="new")
    closed = TicketFactory(subject="Paket obat isoman", status="closed")

    page = flash(agent_client, ticket)
    suggestions = page[page.index('id="duplicate-suggestions"') :].split("</ul>")[0]

    assert same_citizen.number in suggestions and "(same citizen)" in suggestions
    assert same_words.number in suggestions
    assert unrelated.number not in suggestions and closed.number not in suggestions
    assert suggestions.index(same_citizen.number) < suggestions.index(same_words.number)


def test_the_ticket_page_takes_a_constant_number_of_queries(
    agent_client: Client, django_assert_max_num_queries: object
) -> None:
    small = working_ticket()
    big = working_ticket()
    for n in range(30):
        MessageFactory(ticket=big, body=f"pesan {n}")
    for n in range(5):
        CannedResponse.objects.create(title=f"T{n}", body="{ticket_number}")

    def count(ticket: Ticket) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert agent_client.get(change_url(ticket)).status_code == 200
        return len(queries)

    assert count(big) == count(small)


def test_due_times_are_shown_in_local_time() -> None:
    ticket = working_ticket()
    ticket.first_response_due_at = timezone.now() + timedelta(days=400)

    assert "Batas waktu: 3 Des 2026 pukul 14.30 WIB" in status_block(ticket)


def test_a_canned_response_never_names_the_citizen_in_public_and_a_bad_one_is_skipped(
    agent_client: Client,
) -> None:
    ticket = working_ticket(channel=Channel.X)
    MessageFactory(ticket=ticket, channel=Channel.X, is_public=True, body="@kota obat telat")
    CannedResponse.objects.create(title="Sapa", body="Halo {citizen_name}, kami cek.")
    CannedResponse.objects.create(title="Rusak", body="{due_at:>999999999}")  # not via admin

    page = flash(agent_client, ticket)

    assert (
        'data-text="Halo Bapak/Ibu, kami cek."' in page
        and "Sari" not in page.split('id="canned-response"')[1].split("</select>")[0]
    )
    assert "Rusak" not in page


def test_a_staff_flag_without_a_staff_role_does_not_open_the_admin(partner_user: User) -> None:
    partner_user.is_staff = True
    partner_user.save()
    client = Client()
    client.force_login(partner_user)

    response = client.get("/admin/")

    assert response.status_code == 302 and "/login/" in response["Location"]
