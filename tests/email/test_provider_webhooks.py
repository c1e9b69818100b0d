"""Provider inbound mail through django-anymail: basic auth and the provider's signature
checked before anything is stored; stored mail goes through the same inbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from channels_ingest import services
from channels_ingest.models import ChannelAccount, Delivery
from complaints.choices import Direction
from complaints.models import Message, Ticket
from tests.email.conftest import SAMPLES

pytestmark = pytest.mark.django_db

GOOD = "Basic cGVuZ2FkdWFuOlJhaGFzaWEtQmFzaWMtQXV0aC0yMDI2"
WRONG = "Basic cGVuZ2FkdWFuOnNhbGFo"


@pytest.fixture
def inbound_mailbox(db: None) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="email",
        slug="uji",
        name="Layanan Pengaduan",
        address="pengaduan@pengaduan.kotabaru.example",
        settings={
            "aliases": [
                "pengaduan@inbound.pengaduan.kotabaru.example",
                "pengaduan@mg.pengaduan.kotabaru.example",
            ]
        },
    )


def postmark(client: Client, auth: str) -> Any:
    body = (SAMPLES / "anymail_postmark_inbound.json").read_bytes()
    return client.post(
        "/anymail/postmark/inbound/",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )


def mailgun(client: Client, **changes: str) -> Any:
    fields = json.loads((SAMPLES / "anymail_mailgun_inbound_mime.form.json").read_text())
    return client.post(
        "/anymail/mailgun/inbound_mime/", data=fields | changes, HTTP_AUTHORIZATION=GOOD
    )


def test_postmark_mail_is_stored_and_processed(
    inbound_mailbox: ChannelAccount, client: Client
) -> None:
    assert postmark(client, GOOD).status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.external_id == (
        "SI2PR06MB5140UJI0002B2C3D4E5F6A7@SI2PR06MB5140.apcprd06.prod.outlook.example"
    )
    assert delivery.event["via"] == "postmark"
    services.process_due()
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.body.startswith("Update: internet sudah normal kembali")
    assert postmark(client, GOOD).status_code == 200  # the provider retries: nothing new
    services.process_due()
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_wrong_basic_auth_is_refused_and_nothing_stored(
    inbound_mailbox: ChannelAccount, client: Client
) -> None:
    assert postmark(client, WRONG).status_code == 400
    assert postmark(client, "").status_code == 400
    assert not Delivery.objects.exists()


def test_mailgun_mime_with_its_signature_is_stored(
    inbound_mailbox: ChannelAccount, client: Client
) -> None:
    assert mailgun(client).status_code == 200
    services.process_due()
    ticket = Ticket.objects.get()
    assert ticket.citizen.email == "siti.r@surel.example"


def test_mailgun_with_a_wrong_signature_is_refused(
    inbound_mailbox: ChannelAccount, client: Client
) -> None:
    forged = "0a9bbf09ba20c5fc92777e08d82d598be32f7af98b98153354b4464ad053c002"
    assert mailgun(client, signature=forged).status_code == 400
    assert not Delivery.objects.exists()


def test_mail_for_no_mailbox_of_ours_is_not_acknowledged(client: Client, db: None) -> None:
    # No mailbox account takes it: an error, so the provider keeps it and retries.
    with pytest.raises(LookupError):
        postmark(client, GOOD)
    assert not Delivery.objects.exists()
