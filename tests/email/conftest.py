"""A mailbox account for the samples' addresses, and mail put through the inbox the way
every way in does (stored raw, then processed by the drain)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from channels_ingest import services
from channels_ingest.mailin import Envelope, store_mail
from channels_ingest.models import ChannelAccount, Delivery

SAMPLES = Path(__file__).parent.parent / "channels" / "samples"
ADDRESS = "pengaduan@pengaduan.kotabaru.example"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def mailbox(db: None) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="email",
        slug="uji",
        name="Layanan Pengaduan Kota Baru",
        address=ADDRESS,
        settings={"aliases": ["keluhan@pengaduan.kotabaru.example"]},
    )


Deliver = Callable[..., Delivery]


@pytest.fixture
def deliver(mailbox: ChannelAccount, django_capture_on_commit_callbacks: Any) -> Deliver:
    """Stores raw mail for the mailbox and processes the inbox, sending what that queues
    (Django's test mail outbox); returns the mail's delivery."""

    def run(raw: bytes, *, mail_from: str | None = None, rcpt_to: tuple[str, ...] = ()) -> Delivery:
        with django_capture_on_commit_callbacks(execute=True):
            store_mail(mailbox, raw, Envelope(via="smtp", mail_from=mail_from, rcpt_to=rcpt_to))
            services.process_due()
        return Delivery.objects.filter(account=mailbox).latest("pk")

    return run


def compose(
    *,
    sender: str = "Siti Aminah <siti@surel.example>",
    to: str = ADDRESS,
    subject: str = "Air PDAM mati tiga hari",
    text: str | None = "Sudah tiga hari air tidak mengalir di RT 04.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    message_id: str | None = None,
) -> bytes:
    """A message as a mail client would write it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="surel.example")
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, content_type, content in attachments:
        maintype, _slash, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def reply_to(outbound: Any, **fields: Any) -> bytes:
    """The citizen's reply to an email we sent (a django.core.mail message)."""
    ours = outbound.extra_headers["Message-ID"]
    headers = {"In-Reply-To": ours, "References": ours, **fields.pop("headers", {})}
    return compose(subject=f"Re: {outbound.subject}", headers=headers, **fields)
