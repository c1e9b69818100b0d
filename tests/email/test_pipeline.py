"""Mail through the inbox: new complaints, threading, acknowledgements, automatic mail,
bounces, attachments, storms (REFERENCE 5.4 to 5.7)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as outbox

from channels_ingest import services
from channels_ingest.mailin import Envelope, store_mail
from channels_ingest.models import Delivery
from complaints import services as complaints
from complaints.choices import AuthorKind, Channel, DeliveryStatus, Direction, Status
from complaints.models import Attachment, Message, Ticket
from tests.email.conftest import ADDRESS, Deliver, compose, reply_to, sample

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_new_complaint_is_numbered_and_acknowledged_with_its_token(deliver: Deliver) -> None:
    delivery = deliver(sample("email_new_complaint.eml"))
    ticket = Ticket.objects.get()
    assert delivery.state == Delivery.State.PROCESSED
    assert ticket.channel == Channel.EMAIL
    assert (
        ticket.subject == "Keluhan \u2013 salinan rekam medis ayah belum diberikan RSUD (3 minggu)"
    )
    assert ticket.citizen.email == "andi.pratama@surel.example"
    first = ticket.messages.get(direction=Direction.INBOUND)
    assert first.external_id == "CAF3uji7h2K+9qWm4T@mail.surel.example"
    assert "rekam medis ayah saya" in first.body
    assert [a.original_name for a in Attachment.objects.all()] == ["Tanda_Terima_Permohonan_RM.pdf"]
    [ack] = outbox.outbox
    assert ack.to == ["andi.pratama@surel.example"]
    assert ack.subject.startswith(f"[{ticket.number}] Keluhan")
    assert ticket.number in ack.body
    headers = ack.extra_headers
    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["In-Reply-To"] == "<CAF3uji7h2K+9qWm4T@mail.surel.example>"
    assert headers["Message-ID"].startswith(f"<{ticket.number}.")
    sent = ticket.messages.get(direction=Direction.OUTBOUND)
    assert sent.delivery_status == DeliveryStatus.SENT
    assert f"<{sent.external_id}>" == headers["Message-ID"]


def test_the_same_mail_again_changes_nothing(deliver: Deliver) -> None:
    deliver(sample("email_new_complaint.eml"))
    deliver(sample("email_new_complaint_redelivered.eml"))
    deliver(sample("email_new_complaint.eml"))
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert len(outbox.outbox) == 1


def test_a_reply_to_our_mail_threads_into_its_ticket(deliver: Deliver) -> None:
    deliver(compose())
    ticket = Ticket.objects.get()
    deliver(reply_to(outbox.outbox[0], text="Tambahan: alamat saya Jl. Melati 4."))
    assert Ticket.objects.count() == 1
    assert ticket.messages.filter(direction=Direction.INBOUND).count() == 2
    assert len(outbox.outbox) == 1  # one acknowledgement per ticket


def test_a_reply_to_the_citizens_own_earlier_mail_threads_too(deliver: Deliver) -> None:
    deliver(compose(message_id="<first@surel.example>"))
    deliver(compose(subject="Re: Air PDAM", headers={"References": "<first@surel.example>"}))
    assert Ticket.objects.count() == 1


def test_the_subject_token_threads_only_for_the_tickets_citizen(deliver: Deliver) -> None:
    deliver(compose())
    ticket = Ticket.objects.get()
    deliver(compose(subject=f"Fwd: [{ticket.number.lower()}] susulan"))
    assert Ticket.objects.count() == 1
    deliver(compose(sender="orang.lain@surel.example", subject=f"RE: [{ticket.number}] titip"))
    assert Ticket.objects.count() == 2  # a stranger with the number opens their own
    assert ticket.messages.filter(direction=Direction.INBOUND).count() == 2


def test_the_plus_address_threads_for_the_tickets_citizen(deliver: Deliver) -> None:
    deliver(compose())
    number = Ticket.objects.get().number
    deliver(compose(subject="Kabar terbaru", to=f"pengaduan+{number}@pengaduan.kotabaru.example"))
    assert Ticket.objects.count() == 1


def test_the_same_subject_alone_never_threads(deliver: Deliver) -> None:
    deliver(compose())
    deliver(compose())  # same sender, same subject, a new Message-ID, answers nothing
    assert Ticket.objects.count() == 2


def test_a_reply_to_a_closed_ticket_opens_a_new_one(deliver: Deliver, agent: Any) -> None:
    deliver(compose())
    ticket = Ticket.objects.get()
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    deliver(reply_to(outbox.outbox[0]))
    assert Ticket.objects.count() == 2


def test_an_out_of_office_answer_is_kept_as_a_note_and_never_answered(deliver: Deliver) -> None:
    deliver(compose(sender="dr. Ratna <ratna.w@rsud-kotabaru.example>"))
    ticket = Ticket.objects.get()
    before = len(outbox.outbox)
    auto = reply_to(
        outbox.outbox[0],
        sender="dr. Ratna <ratna.w@rsud-kotabaru.example>",
        text="Saya sedang cuti sampai 9 Maret.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    delivery = deliver(auto)
    note = Message.objects.get(pk=delivery.message_id)
    assert (note.ticket_id, note.is_internal, note.author_kind) == (
        ticket.pk,
        True,
        AuthorKind.SYSTEM,
    )
    assert "Saya sedang cuti" in note.body
    assert len(outbox.outbox) == before
    assert Ticket.objects.count() == 1


def test_automatic_mail_with_no_ticket_opens_none(deliver: Deliver) -> None:
    for name in ("email_autoreply_ooo.eml", "email_mailing_list_bulk.eml"):
        delivery = deliver(sample(name))
        assert delivery.state == Delivery.State.IGNORED
        assert delivery.last_error  # why, for whoever looks at the inbox
    assert not Ticket.objects.exists()
    assert not outbox.outbox


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Precedence": "auto_reply"},
        {"List-Id": "<buletin.operator.example>"},
        {"X-Auto-Response-Suppress": "OOF"},
        {"Return-Path": "<>"},
    ],
)
def test_no_automatic_mail_opens_a_ticket_or_is_answered(
    deliver: Deliver, headers: dict[str, str]
) -> None:
    deliver(compose(headers=headers))
    assert not Ticket.objects.exists()
    assert not outbox.outbox


def test_a_null_envelope_sender_is_never_answered(deliver: Deliver) -> None:
    deliver(compose(), mail_from="")
    assert not Ticket.objects.exists()


def test_a_bounce_marks_our_mail_failed_and_is_kept_on_its_ticket(deliver: Deliver) -> None:
    deliver(compose(sender="andi.pratma@surel.example"))
    ticket = Ticket.objects.get()
    ours = ticket.messages.get(direction=Direction.OUTBOUND)
    dsn = sample("email_bounce_dsn.eml").replace(
        b"tiket.LPR-2026-000124.msg.1772597110@pengaduan.kotabaru.example",
        ours.external_id.encode(),
    )
    delivery = deliver(dsn, mail_from="")
    ours.refresh_from_db()
    assert ours.delivery_status == DeliveryStatus.FAILED
    assert ours.delivery_error.startswith("5.1.1 smtp; 550 5.1.1")
    note = Message.objects.get(pk=delivery.message_id)
    assert note.is_internal and note.ticket_id == ticket.pk
    assert len(outbox.outbox) == 1  # the acknowledgement only; the bounce is not answered


def test_kept_and_refused_attachments(deliver: Deliver) -> None:
    raw = compose(
        attachments=[
            ("surat.pdf", "application/pdf", PDF),
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 200),
            ("foto.png", "image/png", b"<html><script>alert(1)</script></html>"),
        ]
    )
    deliver(raw)
    message = Message.objects.get(direction=Direction.INBOUND)
    assert [a.original_name for a in message.attachments.all()] == ["surat.pdf"]
    assert "setup.exe" in message.body and "foto.png" in message.body
    assert "Lampiran tidak disimpan" in message.body


def test_html_only_mail_becomes_text_without_the_quoted_history(deliver: Deliver) -> None:
    deliver(compose())
    ticket = Ticket.objects.get()
    raw = sample("email_outlook_html_windows1252.eml").replace(
        b"<tiket.LPR-2026-000125.msg.1772604600@pengaduan.kotabaru.example>",
        outbox.outbox[0].extra_headers["Message-ID"].encode(),
    )
    deliver(raw)
    # Another sender replying to our Message-ID still threads: ids are not guessable.
    message = ticket.messages.filter(direction=Direction.INBOUND).latest("pk")
    assert "\u201cputus-nyambung\u201d \u2013 lampu LOS" in message.body
    assert "Dari:" not in message.body and "Dikirim:" not in message.body


def test_the_gmail_quote_in_indonesian_is_cut(deliver: Deliver) -> None:
    delivery = deliver(sample("email_reply_threaded.eml"))
    message = Message.objects.get(pk=delivery.message_id)
    assert message.body.endswith("Salam,\nAndi")
    assert "menulis" not in message.body and "> " not in message.body


def test_a_storm_from_one_sender_stops_opening_tickets(deliver: Deliver, settings: Any) -> None:
    settings.ADUAN_EMAIL_SENDER_LIMIT = 3
    for i in range(6):
        deliver(compose(subject=f"Keluhan {i}"))
    assert Ticket.objects.count() == 3
    assert len(outbox.outbox) == 3
    assert Delivery.objects.filter(state=Delivery.State.IGNORED).count() == 3


def test_a_storm_arriving_at_once_opens_no_more_than_the_limit(
    mailbox: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ADUAN_EMAIL_SENDER_LIMIT = 3
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(6):
            store_mail(mailbox, compose(subject=f"Keluhan {i}"), Envelope(via="smtp"))
        services.process_due()
    assert Ticket.objects.count() == 3
    assert Delivery.objects.filter(state=Delivery.State.IGNORED).count() == 3


def test_new_mail_from_many_senders_is_opened_together(
    mailbox: Any, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        store_mail(mailbox, compose(sender=f"warga{i}@surel.example"), Envelope(via="smtp"))
    # A constant number of queries for the group (the one-by-one path takes ~15 each).
    with django_capture_on_commit_callbacks(execute=True), django_assert_max_num_queries(40):
        services.process_due()
    assert Ticket.objects.count() == 30
    assert len(outbox.outbox) == 30


def test_an_agents_reply_goes_out_on_the_thread(
    deliver: Deliver, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    deliver(compose(message_id="<awal@surel.example>"))
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = complaints.post_message(
            ticket=ticket,
            body="Petugas PDAM datang besok pagi.",
            author_kind=AuthorKind.AGENT,
            by=agent,
        )
    reply.refresh_from_db()
    sent = outbox.outbox[-1]
    assert reply.delivery_status == DeliveryStatus.SENT
    assert sent.body == "Petugas PDAM datang besok pagi."
    assert sent.subject == f"[{ticket.number}] Air PDAM mati tiga hari"
    assert "Auto-Submitted" not in sent.extra_headers  # a person wrote it
    ack_id = ticket.messages.get(author_kind=AuthorKind.SYSTEM).external_id
    assert sent.extra_headers["References"] == f"<{ack_id}> <awal@surel.example>"
    assert sent.extra_headers["In-Reply-To"] == "<awal@surel.example>"
    assert sent.from_email == f"Layanan Pengaduan Kota Baru <{ADDRESS}>"


@pytest.mark.parametrize(
    "fields",
    [
        {"headers": {"X-Loop": ADDRESS}},
        {"sender": f"Layanan <{ADDRESS}>"},
        {"sender": "keluhan+x@pengaduan.kotabaru.example"},  # an alias of the mailbox
    ],
)
def test_our_own_mail_coming_back_is_a_loop(deliver: Deliver, fields: dict[str, Any]) -> None:
    delivery = deliver(compose(**fields))
    assert delivery.state == Delivery.State.IGNORED
    assert delivery.last_error.startswith("loop")
    assert not Ticket.objects.exists() and not outbox.outbox


def test_another_systems_loop_mark_is_not_ours(deliver: Deliver) -> None:
    deliver(compose(headers={"X-Loop": "helpdesk@pengaduan-lain.example"}))
    assert Ticket.objects.count() == 1


def test_a_mail_server_that_drops_the_connection_is_tried_again(
    deliver: Deliver, settings: Any
) -> None:
    from tests.email.backends import FlakyBackend

    settings.EMAIL_BACKEND = "tests.email.backends.FlakyBackend"
    FlakyBackend.failures = 2
    deliver(compose())
    ack = Message.objects.get(direction=Direction.OUTBOUND)
    assert ack.delivery_status == DeliveryStatus.SENT  # on the third try
    assert len(outbox.outbox) == 1 and FlakyBackend.failures == 0


def test_a_refused_recipient_fails_for_good_and_says_why(deliver: Deliver, settings: Any) -> None:
    from tests.email.backends import FlakyBackend

    settings.EMAIL_BACKEND = "tests.email.backends.FlakyBackend"
    FlakyBackend.refused = True
    try:
        deliver(compose())
    finally:
        FlakyBackend.refused = False
    ack = Message.objects.get(direction=Direction.OUTBOUND)
    assert ack.delivery_status == DeliveryStatus.FAILED
    assert "no such user" in ack.delivery_error
