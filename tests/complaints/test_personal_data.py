"""UU PDP: `manage.py citizen_data export|erase <id>`. Export gives everything held about
the citizen; erasure replaces it with a pseudonym everywhere, keeps the statistics, and
is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from channels_ingest.models import ChannelAccount, Delivery
from complaints import services
from complaints.choices import AuthorKind, Channel
from complaints.models import Citizen, DataErasure, Message, Rating, Ticket
from complaints.services.personal_data import ERASED

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(agent: User) -> Ticket:
    user = User.objects.create_user("sari", password="rahasia-sekali-123")
    Token.objects.create(user=user)
    citizen = Citizen.objects.create(
        name="Sari Wulandari", phone="+6281234567890", email="sari@contoh.id", user=user
    )
    citizen.identities.create(
        channel=Channel.WHATSAPP, address="6281234567890", display_name="Sari W"
    )
    ticket = services.open_ticket(
        citizen=citizen,
        channel=Channel.WHATSAPP,
        subject="Obat Sari belum datang ke Jl. Melati 5",
        body="Saya Sari, obat isoman belum datang. HP 081234567890.",
        address="Jl. Melati 5, Depok",
    )
    first = ticket.messages.get()
    account = ChannelAccount.objects.create(kind="whatsapp", slug="pdp", name="WA", address="1")
    Delivery.objects.create(
        account=account, external_id="wamid.PDP1", event={"from": "6281234567890"}, message=first
    )
    services.post_message(
        ticket=ticket,
        body="Yth. Sari Wulandari, obat dikirim ulang ke 081234567890? Kami konfirmasi.",
        author_kind=AuthorKind.AGENT,
        by=agent,
    )
    services.post_message(
        ticket=ticket, body="Catatan: BU SARI lansia, telp 0812 3456 7890", by=agent,
        author_kind=AuthorKind.AGENT, is_internal=True,
    )  # fmt: skip
    Delivery.objects.create(  # a status receipt: no message, the number in its event
        account=account, external_id="wamid.PDP2", event={"recipient_id": "6281234567890"}
    )
    services.change_ticket_details(
        ticket=Ticket.objects.get(pk=ticket.pk), by=agent, subject="Obat Bu Sari terlambat"
    )
    services.transition_ticket(ticket=ticket, transition="triage", by=agent)
    services.transition_ticket(ticket=ticket, transition="start", by=agent)
    services.transition_ticket(ticket=ticket, transition="resolve", by=agent, reason="Diantar")
    services.record_rating(ticket=ticket, score=4, solved=True, comment="Terima kasih, Sari")
    return Ticket.objects.get(pk=ticket.pk)


def test_export_gives_what_is_held_about_the_citizen_but_not_internal_notes(
    history: Ticket, tmp_path: Path
) -> None:
    out = tmp_path / "sari.json"

    call_command("citizen_data", "export", str(history.citizen_id), "--output", str(out))

    data = json.loads(out.read_text())
    assert data["citizen"]["name"] == "Sari Wulandari"
    assert data["citizen"]["phone"] == "+6281234567890" and data["citizen"]["has_account"]
    assert data["identities"] == [
        {"channel": "whatsapp", "address": "6281234567890", "display_name": "Sari W"}
    ]
    [ticket] = data["tickets"]
    assert ticket["number"] == history.number and ticket["address"] == "Jl. Melati 5, Depok"
    bodies = [m["body"] for m in ticket["messages"]]
    assert bodies[0].startswith("Saya Sari") and not any("Catatan" in b for b in bodies)
    assert data["ratings"][0]["comment"] == "Terima kasih, Sari"


def test_erasure_pseudonymises_everything_and_keeps_the_statistics(history: Ticket) -> None:
    citizen = history.citizen
    before = Ticket.objects.values("number", "status", "created_at", "channel").get()

    call_command("citizen_data", "erase", str(citizen.pk), "--requested-by", "Sari, surat 12/2026")

    citizen.refresh_from_db()
    erasure = DataErasure.objects.get()
    assert citizen.name == erasure.pseudonym and erasure.pseudonym.startswith("Warga-")
    assert (citizen.email, citizen.phone) == (None, None)
    assert erasure.requested_by == "Sari, surat 12/2026"
    identity = citizen.identities.get()
    assert identity.address.startswith(erasure.pseudonym) and identity.display_name == ""
    user = User.objects.get(pk=citizen.user_id)
    assert not user.is_active and not user.has_usable_password() and user.username != "sari"
    assert not Token.objects.exists()
    assert Ticket.objects.values("number", "status", "created_at", "channel").get() == before
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.address, ticket.latitude) == (ERASED, "", None)
    texts = " ".join(Message.objects.values_list("body", flat=True))
    for personal in ("sari", "081234567890", "0812 3456 7890", "melati"):
        assert personal not in texts.lower()
    assert erasure.pseudonym in texts  # the reply names the pseudonym now
    assert list(Delivery.objects.values_list("event", flat=True)) == [{"erased": True}] * 2
    history_texts = str(list(ticket.events.values_list("data", "public_reason", "internal_note")))
    assert "Sari" not in history_texts and "Melati" not in history_texts
    rating = Rating.objects.get()
    assert (rating.score, rating.solved, rating.comment) == (4, True, "")


def test_erasure_needs_to_say_who_asked(history: Ticket) -> None:
    with pytest.raises(CommandError):
        call_command("citizen_data", "erase", str(history.citizen_id))
    with pytest.raises(CommandError):
        call_command("citizen_data", "export", "999999")
    assert not DataErasure.objects.exists()
