"""MISSION story 3: a public reply never carries personal data; a private one goes out."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from django.core.exceptions import ValidationError

from complaints import services
from complaints.choices import AuthorKind, DeliveryStatus, Direction
from complaints.models import Message, Ticket
from tests.channels.conftest import Deliver

pytestmark = pytest.mark.django_db

PERSONAL = [
    "Bapak bisa hubungi kami di 0812-3456-7890 ya",
    "Nomor Bapak +62 812 3456 7890 sudah kami catat",
    "Kami kirim ke budi.santoso@surel.example",
    "NIK 3201234567890001 sudah terverifikasi",
    "Nomor pelanggan 1220-0000-4567 sedang dicek",
    "Tagihan: INV2026031234 sudah kami teruskan",
    "rekening 1234567890 atas nama Budi",
    "Tagihan Rp 350.000 akan dikembalikan",
    "Refund sebesar 1,5 juta diproses",
    "Petugas menuju Jl. Melati Raya",
    "Alamat Perum Griya Asri Blok C5 sudah dicatat",
    "Lokasi di RT 03/RW 07 sudah dicek",
]
CLEAN = [
    "Terima kasih, laporan Anda kami terima dengan nomor ADU-2611-7K3QX9.",
    # Random codes that once read as money amounts ("Rp 70", "12345 M").
    "Laporan ADU-2611-RP70F9 dan ADU-2611-12345M sedang kami tangani.",
    "Kami sudah meneruskan laporan ke operator; detail kami kirim lewat pesan pribadi.",
    "Gangguan di wilayah Bojonggede sedang ditangani sejak 4 Maret 2026 pukul 10.00.",
    "Perbaikan jalan rusak dijadwalkan dalam 3 hari kerja.",
    "Mohon kirim detail lewat DM ya, Kak.",
]


@pytest.fixture
def public_ticket(deliver: Deliver, accounts: Any, provider: respx.MockRouter) -> Ticket:
    deliver.case("x-mention")
    return Ticket.objects.get()


@pytest.mark.parametrize("text", PERSONAL)
def test_a_public_reply_with_personal_data_is_refused_and_nothing_is_sent(
    public_ticket: Ticket, agent: Any, provider: respx.MockRouter, text: str
) -> None:
    calls, mention = len(provider.calls), public_ticket.messages.get(direction=Direction.INBOUND)
    with pytest.raises(ValidationError) as refused:
        services.post_message(
            ticket=public_ticket,
            body=text,
            author_kind=AuthorKind.AGENT,
            by=agent,
            is_public=True,
            in_reply_to=mention,
        )
    assert "private message" in str(refused.value)
    assert public_ticket.messages.filter(author_kind=AuthorKind.AGENT).count() == 0
    assert len(provider.calls) == calls


@pytest.mark.parametrize("text", CLEAN)
def test_a_public_reply_without_personal_data_goes_out_in_public(
    public_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
    text: str,
) -> None:
    mention = public_ticket.messages.get(direction=Direction.INBOUND)
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.post_message(
            ticket=public_ticket,
            body=text,
            author_kind=AuthorKind.AGENT,
            by=agent,
            is_public=True,
            in_reply_to=mention,
        )
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert provider.calls.last.request.url.path == "/2/tweets"


def test_the_same_details_go_out_in_a_private_message(
    public_ticket: Ticket,
    agent: Any,
    provider: respx.MockRouter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.post_message(
            ticket=public_ticket,
            body=PERSONAL[0],
            author_kind=AuthorKind.AGENT,
            by=agent,
        )
    reply.refresh_from_db()
    assert (reply.is_public, reply.delivery_status) == (False, DeliveryStatus.SENT)
    assert provider.calls.last.request.url.path.startswith("/2/dm_conversations/with/")
    assert Message.objects.filter(is_public=True, direction=Direction.OUTBOUND).count() == 1
