"""Deliveries drained together open their tickets together: each new complaint numbered,
stored and acknowledged as when it comes alone, with a number of queries that does not
grow with the group; follow-ups, second messages and unreadable events keep the
one-by-one path and its order. A NUL character, which PostgreSQL cannot store, no
longer makes a signed delivery fail forever."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
import respx
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from channels_ingest.models import Delivery
from channels_ingest.services import process_due
from channels_ingest.tasks import send_now
from complaints.choices import AuthorKind, DeliveryStatus, Direction, Status
from complaints.models import Citizen, Message, Ticket
from escalation.services import policy_for
from tests.channels.conftest import Deliver
from tests.channels.stack import whatsapp_headers

pytestmark = pytest.mark.django_db


def whatsapp(*messages: tuple[int, str, str]) -> bytes:
    """One WhatsApp delivery carrying several messages: (sender n, message id, text)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "628111900112", "phone_number_id": "109876543210987"},
        "contacts": [
            {"profile": {"name": f"Warga {n}"}, "wa_id": f"62813000{n:05d}"}
            for n, _i, _t in messages
        ],
        "messages": [
            {
                "from": f"62813000{n:05d}",
                "id": f"wamid.GROUP{message_id}",
                "timestamp": "1772593320",
                "type": "text",
                "text": {"body": text},
            }
            for n, message_id, text in messages
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(payload).encode()


def send(deliver: Deliver, body: bytes) -> None:
    assert deliver("whatsapp", body, whatsapp_headers(body)).status_code == 200


def inbound(message_id: str) -> Message:
    return Message.objects.select_related("ticket").get(external_id=f"wamid.GROUP{message_id}")


def test_complaints_from_many_senders_are_each_numbered_stored_and_acknowledged(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    send(deliver, whatsapp(*[(n, f"a{n}", f"Aduan {n}: obat belum datang") for n in range(12)]))

    assert Ticket.objects.count() == 12
    for n in range(12):
        first = inbound(f"a{n}")
        ticket = first.ticket
        assert (first.body, ticket.subject) == (f"Aduan {n}: obat belum datang",) * 2
        assert ticket.citizen.phone == f"+62813000{n:05d}"
        assert ticket.channel_account == accounts["whatsapp"]
        assert ticket.status == Status.NEW
        ack = ticket.messages.get(direction=Direction.OUTBOUND)
        assert ack.author_kind == AuthorKind.SYSTEM
        assert ack.in_reply_to == first
        assert ticket.number in ack.body
        assert ack.delivery_status == DeliveryStatus.SENT
        assert Delivery.objects.get(message=first).state == Delivery.State.PROCESSED
    sent = [json.loads(call.request.content) for call in provider.calls]
    assert sorted(s["to"] for s in sent) == [f"62813000{n:05d}" for n in range(12)]


def test_processing_a_group_costs_the_queries_of_a_smaller_one(
    client: Client, django_capture_on_commit_callbacks: Any, accounts: Any
) -> None:
    def queries_to_process(first: int, count: int) -> int:
        body = whatsapp(*[(n, f"q{n}", f"Aduan {n}") for n in range(first, first + count)])
        with django_capture_on_commit_callbacks(execute=False):  # stored, not yet processed
            response = client.post(
                "/webhooks/whatsapp/uji/",
                data=body,
                content_type="application/json",
                headers=whatsapp_headers(body),
            )
        assert response.status_code == 200
        with CaptureQueriesContext(connection) as captured:
            assert process_due() == count
        return len(captured)

    policy_for(None, "normal")  # SLA policies are read once per process, not per group
    small, large = queries_to_process(0, 3), queries_to_process(100, 18)

    assert Ticket.objects.count() == 21
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 21
    assert small == large


def test_a_second_message_in_the_group_joins_the_ticket_its_first_opens(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    send(
        deliver,
        whatsapp(
            (1, "s1", "Obat belum datang"), (2, "s2", "Listrik padam"), (1, "s3", "Sudah 2 hari")
        ),
    )

    first, second = inbound("s1"), inbound("s3")
    assert Ticket.objects.count() == 2
    assert second.ticket == first.ticket
    assert first.ticket.messages.filter(direction=Direction.OUTBOUND).count() == 1
    assert list(first.ticket.messages.filter(direction=Direction.INBOUND).order_by("pk")) == [
        first,
        second,
    ]
    assert len(provider.calls) == 2


def test_a_sender_with_an_open_ticket_continues_it_while_others_open_theirs(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    send(deliver, whatsapp((1, "o1", "Obat belum datang")))
    earlier = inbound("o1").ticket

    send(deliver, whatsapp((2, "o2", "Listrik padam"), (1, "o3", "Masih belum"), (3, "o4", "Air")))

    assert inbound("o3").ticket == earlier
    assert earlier.messages.filter(direction=Direction.OUTBOUND).count() == 1
    assert inbound("o2").ticket != inbound("o4").ticket
    assert Ticket.objects.count() == 3
    assert Citizen.objects.count() == 3


def test_a_registered_citizen_writing_on_whatsapp_keeps_one_history(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    registered = Citizen.objects.create(name="Siti", phone="+6281300000007")

    send(deliver, whatsapp((7, "r1", "Obat belum datang"), (8, "r2", "Listrik padam")))

    assert inbound("r1").ticket.citizen == registered
    assert inbound("r2").ticket.citizen != registered
    assert Citizen.objects.count() == 2


def test_a_message_that_cannot_be_processed_fails_alone(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    body = json.loads(whatsapp((1, "u1", "Obat"), (2, "u2", "Listrik"), (3, "u3", "Air")))
    body["entry"][0]["changes"][0]["value"]["messages"][1]["from"] = "bukan nomor"

    send(deliver, json.dumps(body).encode())

    assert {m.external_id for m in Message.objects.filter(direction=Direction.INBOUND)} == {
        "wamid.GROUPu1",
        "wamid.GROUPu3",
    }
    failed = Delivery.objects.get(external_id__contains="GROUPu2")
    assert (failed.state, failed.attempts) == (Delivery.State.PENDING, 1)
    assert "phone" in failed.last_error.lower() or "nomor" in failed.last_error.lower()
    assert Delivery.objects.filter(state=Delivery.State.PROCESSED).count() == 2
    assert len(provider.calls) == 2


def test_a_nul_character_in_a_signed_delivery_is_stored_and_processed(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    body = whatsapp((1, "nul", "Obat\u0000 belum datang"))  # json.dumps escapes it: \u0000
    assert b"\\u0000" in body

    send(deliver, body)

    first = inbound("nul")
    assert first.body == "Obat\ufffd belum datang"
    assert first.ticket.messages.filter(direction=Direction.OUTBOUND).count() == 1
    delivery = Delivery.objects.get(external_id="wamid.GROUPnul")
    assert delivery.state == Delivery.State.PROCESSED


def test_each_acknowledgement_of_a_group_keeps_its_own_outcome(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    """The group's sends are recorded together, but a refusal, a transient fault and an
    unreadable answer each end as they would alone; the others are sent."""
    tries: dict[str, int] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        to = json.loads(request.content)["to"]
        tries[to] = tries.get(to, 0) + 1
        n = int(to[-5:])
        if n == 1:
            return httpx.Response(400, json={"error": {"code": 131030, "message": "Not allowed"}})
        if n == 2 and tries[to] == 1:
            return httpx.Response(503, json={"error": {"code": 131000, "message": "Try later"}})
        if n == 3:
            return httpx.Response(200, text="<html>gateway</html>")
        return httpx.Response(200, json={"messages": [{"id": f"wamid.OK{n}.{tries[to]}"}]})

    provider["whatsapp"].mock(side_effect=answer)

    send(deliver, whatsapp(*[(n, f"o{n}", f"Aduan {n}") for n in range(5)]))

    def ack(n: int) -> Message:
        return inbound(f"o{n}").ticket.messages.get(direction=Direction.OUTBOUND)

    assert [ack(n).delivery_status for n in range(5)] == [
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.SENT,  # on its retry
        DeliveryStatus.QUEUED,  # an answer that cannot be read: left for the sweep
        DeliveryStatus.SENT,
    ]
    assert [ack(n).external_id for n in (0, 2, 4)] == ["wamid.OK0.1", "wamid.OK2.2", "wamid.OK4.1"]
    assert ack(1).delivery_error.startswith("131030")
    assert tries == {f"62813000{n:05d}": 2 if n == 2 else 1 for n in range(5)}


def test_an_id_the_provider_gives_twice_fails_no_other_acknowledgement(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    """Each acknowledgement is sent once, even when the provider answers one with an id
    that is already another message's: that one is recorded as sent without the id."""
    tries: dict[str, int] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        to = json.loads(request.content)["to"]
        tries[to] = tries.get(to, 0) + 1
        n = int(to[-5:])
        sent_id = "wamid.GROUPd0" if n == 2 else f"wamid.ACK{n}"  # citizen 0's message id
        return httpx.Response(200, json={"messages": [{"id": sent_id}]})

    provider["whatsapp"].mock(side_effect=answer)

    send(deliver, whatsapp(*[(n, f"d{n}", f"Aduan {n}") for n in range(4)]))

    acks = [inbound(f"d{n}").ticket.messages.get(direction=Direction.OUTBOUND) for n in range(4)]
    assert [a.delivery_status for a in acks] == [DeliveryStatus.SENT] * 4
    assert [a.external_id for a in acks] == ["wamid.ACK0", "wamid.ACK1", "", "wamid.ACK3"]
    assert "wamid.GROUPd0" in acks[2].delivery_note
    assert tries == {f"62813000{n:05d}": 1 for n in range(4)}
    assert not Message.objects.filter(delivery_status=DeliveryStatus.QUEUED).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_acknowledgements_sent_at_once_skip_those_another_worker_is_sending(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter, caplog: Any
) -> None:
    send(deliver, whatsapp(*[(n, f"l{n}", f"Aduan {n}") for n in range(3)]))
    tickets = [inbound(f"l{n}").ticket for n in range(3)]
    calls = len(provider.calls)
    queued = [
        Message.objects.create(
            ticket=ticket,
            direction=Direction.OUTBOUND,
            channel=ticket.channel,
            author_kind=AuthorKind.SYSTEM,
            body=f"Nomor Anda {ticket.number}",
            delivery_status=DeliveryStatus.QUEUED,
        )
        for ticket in tickets
    ]
    locked, release = threading.Event(), threading.Event()

    def another_worker() -> None:
        try:
            with transaction.atomic():
                Message.objects.select_for_update().get(pk=queued[1].pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=another_worker)
    holder.start()
    assert locked.wait(10)
    try:
        send_now(queued)
    finally:
        release.set()
        holder.join(10)

    statuses = [Message.objects.get(pk=m.pk).delivery_status for m in queued]
    assert statuses == [DeliveryStatus.SENT, DeliveryStatus.QUEUED, DeliveryStatus.SENT]
    assert len(provider.calls) == calls + 2
    assert "queued for a task" not in caplog.text  # skipped, not waited for and handed on
