"""The service layer: citizens, messages, clocks' inputs, assignment, side effects."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from psycopg.adapt import Dumper

from complaints import services
from complaints.choices import AuthorKind, Channel
from complaints.exceptions import StaleTicket
from complaints.models import Attachment, ChannelIdentity, Citizen, Message, Ticket, TicketEvent
from complaints.services import NewAttachment, identify_citizen, open_ticket, post_message
from tests.factories import CategoryFactory, CitizenFactory, TicketFactory


@pytest.mark.django_db
def test_a_whatsapp_sender_is_one_citizen_with_an_e164_number() -> None:
    first = identify_citizen(channel=Channel.WHATSAPP, address="6281234567890", name="Sari")
    again = identify_citizen(channel=Channel.WHATSAPP, address="+62 812-3456-7890")
    by_phone = identify_citizen(channel=Channel.PHONE, address="0812 3456 7890")

    assert first == again == by_phone
    assert first.phone == "+6281234567890"
    assert set(first.identities.values_list("channel", "address")) == {
        ("whatsapp", "+6281234567890"),
        ("phone", "+6281234567890"),
    }


@pytest.mark.django_db
def test_email_senders_are_matched_case_insensitively() -> None:
    one = identify_citizen(channel=Channel.EMAIL, address="Budi@Example.COM", name="Budi")
    two = identify_citizen(channel=Channel.EMAIL, address="budi@example.com")
    assert one == two and one.email == "budi@example.com"


@pytest.mark.django_db
def test_bad_sender_addresses_are_refused_and_store_nothing() -> None:
    for channel, address in [
        (Channel.WHATSAPP, "12"),
        (Channel.EMAIL, "not-an-email"),
        (Channel.TELEGRAM, "  "),
    ]:
        with pytest.raises(ValidationError):
            identify_citizen(channel=channel, address=address)
    assert not Citizen.objects.exists() and not ChannelIdentity.objects.exists()


@pytest.mark.django_db
def test_channel_user_ids_are_identities_of_their_own() -> None:
    a = identify_citizen(channel=Channel.TELEGRAM, address="12345", name="A")
    b = identify_citizen(channel=Channel.X, address="12345", name="B")
    assert a != b


@pytest.mark.django_db
def test_the_same_delivery_twice_opens_one_ticket_with_one_message() -> None:
    citizen = CitizenFactory()
    args = {
        "citizen": citizen,
        "channel": Channel.WHATSAPP,
        "subject": "",
        "body": "Halo",
        "external_id": "wamid.ABC",
    }
    first, second = open_ticket(**args), open_ticket(**args)
    assert first == second
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_twenty_times_at_once_opens_one_ticket(close_db_connection: Any) -> None:
    citizen = CitizenFactory()
    barrier = threading.Barrier(20)
    results: list[Any] = []

    @close_db_connection
    def deliver() -> None:
        barrier.wait()
        results.append(
            open_ticket(
                citizen=citizen,
                channel=Channel.WHATSAPP,
                subject="",
                body="Halo",
                external_id="wamid.SAME",
            ).pk
        )

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(results) == 20 and len(set(results)) == 1
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


@pytest.mark.django_db
def test_complaints_opened_together_cost_the_queries_of_one(
    django_assert_max_num_queries: Any,
) -> None:
    sari, budi = CitizenFactory(name="Sari"), CitizenFactory(name="Budi")

    def requests(n: int) -> list[services.NewTicket]:
        return [
            services.NewTicket(
                citizen=sari if i % 2 else budi,
                channel=Channel.WHATSAPP,
                subject="",
                body=f"Aduan {i}\nbaris dua",
                external_id=f"wamid.{n}.{i}",
                attachments=[NewAttachment("a.pdf", b"%PDF-1.4", "application/pdf")]
                if i == 3
                else (),
            )
            for i in range(n)
        ]

    with django_assert_max_num_queries(9) as one:
        services.open_tickets(requests(1))
    with django_assert_max_num_queries(len(one.captured_queries) + 1) as many:  # + attachment
        opened = services.open_tickets(requests(30))

    assert len(many.captured_queries) > 0
    assert [t.subject for t in opened] == [f"Aduan {i}" for i in range(30)]
    assert len({t.number for t in opened}) == 30
    for i, ticket in enumerate(opened):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.citizen.name == ("Sari" if i % 2 else "Budi")
        assert stored.messages.get().body == f"Aduan {i}\nbaris dua"
        assert [e.kind for e in stored.events.all()] == ["created"]
    assert Attachment.objects.get().message.ticket == opened[3]


AWKWARD_TEXTS = [
    'Kata "kutip", garis\\miring, {kurung}, koma, NULL',
    "NULL",
    "",
    "Baris satu\nbaris dua\ttab",
    "Jalan rusak 🚧 di Jl. Merdeka — «parah» ñ",
    " spasi di tepi ",
]


@pytest.mark.django_db
def test_complaints_opened_together_keep_every_character_and_null() -> None:
    citizen = CitizenFactory()
    opened = services.open_conversations(
        [
            services.NewTicket(
                citizen=citizen,
                channel=Channel.TELEGRAM,
                subject="Aduan",
                body=text,
                external_id=str(i),
                address=text,
                latitude=None if i % 2 else -6.2 + i / 1000,
                longitude=None if i % 2 else 106.8,
            )
            for i, text in enumerate(AWKWARD_TEXTS)
        ]
    )
    for i, (ticket, first) in enumerate(opened):
        stored = Ticket.objects.get(pk=ticket.pk)
        assert stored.messages.get().body == first.body == AWKWARD_TEXTS[i]
        assert stored.address == AWKWARD_TEXTS[i]
        assert (stored.latitude is None) == bool(i % 2)


@pytest.mark.postgres
@pytest.mark.django_db
def test_lists_of_values_with_no_binary_form_are_still_passed() -> None:
    class Code:
        """A value only the text format can write."""

        def __init__(self, text: str) -> None:
            self.text = text

    class CodeDumper(Dumper):
        def dump(self, obj: Code) -> bytes:
            return f"code:{obj.text}".encode()

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_dumper(Code, CodeDumper)
        cursor.execute("SELECT (%s)::text[]", [[Code("a,b"), None, Code('c"d')]])
        assert cursor.fetchone()[0] == ["code:a,b", None, 'code:c"d']
        cursor.execute("SELECT (%s)::bigint[]", [[1, None, 2**40]])
        assert cursor.fetchone()[0] == [1, None, 2**40]


@pytest.mark.django_db
def test_a_delivery_already_stored_or_twice_in_a_group_opens_one_ticket() -> None:
    citizen = CitizenFactory()
    earlier = open_ticket(
        citizen=citizen, channel=Channel.TELEGRAM, subject="", body="x", external_id="7"
    )
    same = {"citizen": citizen, "channel": Channel.TELEGRAM, "subject": "", "body": "Halo"}
    conversations = services.open_conversations(
        [
            services.NewTicket(**same, external_id="7"),
            services.NewTicket(**same, external_id="8"),
            services.NewTicket(**same, external_id="8"),
            services.NewTicket(**same),
        ]
    )
    opened = [ticket for ticket, _first in conversations]
    firsts = [first for _ticket, first in conversations]
    assert opened[0] == earlier and opened[1] == opened[2] != opened[3]
    assert Ticket.objects.count() == 3 and Message.objects.count() == 3
    assert [m.external_id for m in firsts] == ["7", "8", "8", ""]
    assert [m.body for m in firsts] == ["x", "Halo", "Halo", "Halo"]
    assert firsts[1] == firsts[2] and all(m.ticket == t for t, m in conversations)


@pytest.mark.django_db
def test_one_refused_complaint_stores_none_of_its_group() -> None:
    citizen = CitizenFactory()
    good = services.NewTicket(citizen=citizen, channel=Channel.API, subject="Jalan", body="Rusak")
    empty = services.NewTicket(citizen=citizen, channel=Channel.API, subject=" ", body=" ")
    other = services.register_citizen(name="Lain", email="lain@example.com", password="x" * 20)
    someone_else = services.NewTicket(
        citizen=citizen, channel=Channel.API, subject="Jalan", body="x", by=other.user
    )
    with pytest.raises(ValidationError):
        services.open_tickets([good, empty])
    with pytest.raises(PermissionDenied):
        services.open_tickets([good, someone_else])
    assert not Ticket.objects.exists() and not Message.objects.exists()
    assert not TicketEvent.objects.exists()


@pytest.mark.django_db
def test_a_complaint_needs_a_subject_or_a_description_and_a_known_priority() -> None:
    with pytest.raises(ValidationError):
        open_ticket(citizen=CitizenFactory(), channel=Channel.API, subject=" ", body="  ")
    with pytest.raises(ValidationError):
        open_ticket(
            citizen=CitizenFactory(),
            channel=Channel.API,
            subject="x",
            body="y",
            priority="whenever",
        )
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_attachments_are_stored_with_generated_names_and_size_limits(settings: Any) -> None:
    settings.ADUAN_MAX_ATTACHMENT_BYTES = 10
    citizen = CitizenFactory()
    with pytest.raises(ValidationError):
        open_ticket(
            citizen=citizen,
            channel=Channel.API,
            subject="s",
            body="b",
            attachments=[NewAttachment("big.pdf", b"x" * 11, "application/pdf")],
        )
    assert not Ticket.objects.exists() and not Attachment.objects.exists()

    ticket = open_ticket(
        citizen=citizen,
        channel=Channel.API,
        subject="s",
        body="b",
        attachments=[NewAttachment("../../resep.PDF", b"%PDF-1.4", "application/pdf")],
    )

    stored = Attachment.objects.get(message__ticket=ticket)
    assert stored.original_name == "../../resep.PDF"
    assert stored.file.name.startswith("attachments/") and stored.file.name.endswith(".pdf")
    assert ".." not in stored.file.name
    assert stored.size == 8 and len(stored.sha256) == 64


@pytest.mark.django_db
def test_a_citizen_reply_resumes_a_ticket_waiting_for_them(agent: Any) -> None:
    ticket = TicketFactory(status="in_progress")
    services.transition_ticket(
        ticket=ticket, transition="wait_for_citizen", by=agent, reason="Mohon kirim resep"
    )

    post_message(ticket=ticket, body="Ini resepnya", author_kind=AuthorKind.CITIZEN)

    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.status == "in_progress"
    resumed = stored.events.get(kind="resumed")
    assert (resumed.actor, resumed.actor_role, resumed.from_status) == (
        None,
        "system",
        "waiting_citizen",
    )


@pytest.mark.django_db
def test_first_response_is_a_persons_public_reply_not_a_note_or_an_acknowledgement(
    agent: Any,
) -> None:
    ticket = TicketFactory(status="triaged")
    post_message(ticket=ticket, body="Nomor aduan Anda ...", author_kind=AuthorKind.SYSTEM)
    post_message(
        ticket=ticket, body="cek stok", author_kind=AuthorKind.AGENT, by=agent, is_internal=True
    )
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None

    reply = post_message(
        ticket=ticket, body="Kami cek ke apotek", author_kind=AuthorKind.AGENT, by=agent
    )
    post_message(ticket=ticket, body="Update", author_kind=AuthorKind.AGENT, by=agent)

    assert Ticket.objects.get(pk=ticket.pk).first_response_at == reply.created_at
    assert reply.direction == "outbound" and reply.delivery_status == "queued"


@pytest.mark.django_db
def test_posting_is_refused_to_those_the_ticket_is_not_for(
    citizen_user: Any, partner_user: Any, agent: Any
) -> None:
    ticket = TicketFactory()
    with pytest.raises(PermissionDenied):
        post_message(ticket=ticket, body="x", author_kind=AuthorKind.CITIZEN, by=citizen_user)
    with pytest.raises(PermissionDenied):
        post_message(ticket=ticket, body="x", author_kind=AuthorKind.PARTNER, by=partner_user)
    with pytest.raises(PermissionDenied):  # an agent cannot speak as the citizen
        post_message(ticket=ticket, body="x", author_kind=AuthorKind.CITIZEN, by=agent)
    with pytest.raises(ValidationError):
        post_message(ticket=ticket, body="x", author_kind=AuthorKind.CITIZEN, is_internal=True)
    assert not Message.objects.filter(ticket=ticket).exists()


@pytest.mark.django_db
def test_a_message_redelivered_is_stored_once() -> None:
    ticket = TicketFactory()
    one = post_message(ticket=ticket, body="a", author_kind="citizen", external_id="m-1")
    two = post_message(ticket=ticket, body="a", author_kind="citizen", external_id="m-1")
    assert one == two and ticket.messages.count() == 1


@pytest.mark.django_db
def test_assignment_goes_to_agents_only_and_is_recorded(
    agent: Any, other_agent: Any, citizen_user: Any
) -> None:
    ticket = TicketFactory()
    with pytest.raises(ValidationError):
        services.assign_ticket(ticket=ticket, assignee=citizen_user, by=agent)
    with pytest.raises(PermissionDenied):
        services.assign_ticket(ticket=ticket, assignee=agent, by=citizen_user)

    services.assign_ticket(ticket=ticket, assignee=other_agent, by=agent, expected_version=1)
    services.assign_ticket(ticket=ticket, assignee=other_agent, by=agent)  # no change, no event

    stored = Ticket.objects.get(pk=ticket.pk)
    assert (stored.assignee, stored.version) == (other_agent, 2)
    assert stored.events.get().data == {"from": None, "to": "agent-2"}
    with pytest.raises(StaleTicket):
        services.assign_ticket(ticket=ticket, assignee=agent, by=agent, expected_version=1)


@pytest.mark.django_db
def test_changing_details_records_what_changed(agent: Any) -> None:
    ticket = TicketFactory(priority="normal")
    category = CategoryFactory(code="obat-isoman")

    services.change_ticket_details(ticket=ticket, by=agent, priority="critical", category=category)

    event = TicketEvent.objects.get(ticket=ticket, kind="details_changed")
    # Made critical: escalated at once as well (the critical lane).
    assert TicketEvent.objects.get(ticket=ticket, kind="escalated").data["critical"] is True
    assert event.data == {"category": ["None", str(category)], "priority": ["normal", "critical"]}
    with pytest.raises(ValidationError):
        services.change_ticket_details(ticket=ticket, by=agent, priority="whenever")


@pytest.mark.django_db
def test_resolved_tickets_close_themselves_after_the_configured_days(settings: Any) -> None:
    settings.ADUAN_AUTO_CLOSE_DAYS = 7
    old = TicketFactory(status="resolved", resolved_at=timezone.now() - timedelta(days=8))
    recent = TicketFactory(status="resolved", resolved_at=timezone.now() - timedelta(days=1))
    reopened = TicketFactory(status="in_progress", resolved_at=None)

    call_command("runperiodic", "--once")

    assert Ticket.objects.get(pk=old.pk).status == "closed"
    assert Ticket.objects.get(pk=recent.pk).status == "resolved"
    assert Ticket.objects.get(pk=reopened.pk).status == "in_progress"
    assert Ticket.objects.get(pk=old.pk).events.get().actor_role == "system"


@pytest.mark.django_db
def test_changes_are_pushed_to_agents_only_after_commit(
    agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("queue-agents", channel)
    ticket = TicketFactory(status="new")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.transition_ticket(ticket=ticket, transition="triage", by=agent)
    assert async_to_sync(receive_or_none)(layer, channel) is None  # nothing before commit
    for callback in callbacks:
        callback()

    assert async_to_sync(receive_or_none)(layer, channel) == {
        "type": "ticket.updated",
        "ticket": ticket.pk,
        "number": ticket.number,
        "status": "triaged",
        "version": 2,
    }


async def receive_or_none(layer: Any, channel: str) -> Any:
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout=0.5)
    except TimeoutError:
        return None


@pytest.mark.django_db
def test_a_citizen_opens_complaints_only_for_themselves(citizen_user: Any) -> None:
    own = open_ticket(
        citizen=citizen_user.citizen, channel=Channel.API, subject="s", body="b", by=citizen_user
    )
    with pytest.raises(PermissionDenied):
        open_ticket(
            citizen=CitizenFactory(), channel=Channel.API, subject="s", body="b", by=citizen_user
        )
    assert list(Ticket.objects.all()) == [own]
    assert own.messages.get().author_kind == "citizen"


@pytest.mark.django_db
def test_role_groups_exist_with_every_apps_permissions_after_migrate() -> None:
    from django.contrib.auth.models import Group

    agents = set(Group.objects.get(name="Agents").permissions.values_list("codename", flat=True))
    supervisors = Group.objects.get(name="Supervisors").permissions
    assert {"work_ticket", "view_ticket", "view_organisation"} <= agents
    assert supervisors.filter(
        codename="view_slapolicy", content_type__app_label="escalation"
    ).exists()
    assert supervisors.filter(codename="view_channelaccount").exists()
