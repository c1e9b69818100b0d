"""IMAP polling against a real IMAP server (Dovecot on a loopback port): UIDs remembered
with UIDVALIDITY, processed mail moved, big mail set aside, a broken mailbox no obstacle
to the others (REFERENCE 5.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted

from channels_ingest import mailin, services
from channels_ingest.models import ChannelAccount, Delivery, MailboxState
from complaints.models import Ticket
from tests.email.conftest import compose, sample
from tests.email.dovecot import ImapServer, dovecot

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapServer]:
    with dovecot() as server:
        yield server


@pytest.fixture
def box(imap: ImapServer) -> Iterator[MailBoxUnencrypted]:
    """The mailbox as another client sees it, emptied before each test."""
    with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as client:
        for folder in ("INBOX", "Processed", "Gagal"):
            if client.folder.exists(folder):
                client.folder.set(folder)
                client.delete(client.uids())
        client.folder.set("INBOX")
        yield client


def account_for(imap: ImapServer, slug: str = "uji", **extra: Any) -> ChannelAccount:
    return ChannelAccount.objects.create(
        kind="email",
        slug=slug,
        name="Layanan Pengaduan",
        address="pengaduan@pengaduan.kotabaru.example",
        access_token=extra.pop("password", imap.password),
        settings={
            "imap_host": imap.host,
            "imap_port": imap.port,
            "imap_ssl": False,
            "imap_user": imap.user,
            **extra,
        },
    )


def uids(box: MailBoxUnencrypted, folder: str) -> list[str]:
    box.folder.set(folder)
    found = list(box.uids())
    box.folder.set("INBOX")
    return found


def test_new_mail_is_stored_exactly_moved_and_processed(
    imap: ImapServer, box: MailBoxUnencrypted
) -> None:
    account = account_for(imap)
    raw = sample("email_new_complaint.eml")
    box.append(raw, "INBOX")
    box.append(compose(), "INBOX")
    assert mailin.poll_mailbox(account) == 2
    stored = {d.external_id: bytes(d.raw) for d in Delivery.objects.all()}
    assert stored["CAF3uji7h2K+9qWm4T@mail.surel.example"] == raw  # the server's bytes
    assert uids(box, "INBOX") == []
    assert len(uids(box, "Processed")) == 2
    state = MailboxState.objects.get(account=account)
    assert state.last_uid == 2 and state.uidvalidity and not state.last_error
    services.process_due()
    assert Ticket.objects.count() == 2
    assert mailin.poll_mailbox(account) == 0  # nothing new


def test_uids_already_stored_are_not_fetched_again(
    imap: ImapServer, box: MailBoxUnencrypted
) -> None:
    account = account_for(imap, imap_processed_folder="")  # flag as seen, leave in place
    box.append(compose(), "INBOX")
    assert mailin.poll_mailbox(account) == 1
    box.append(compose(subject="Kedua"), "INBOX")
    assert mailin.poll_mailbox(account) == 1
    assert Delivery.objects.count() == 2
    assert len(uids(box, "INBOX")) == 2  # still there, and seen
    assert all("\\Seen" in m.flags for m in box.fetch(mark_seen=False))


def test_a_new_uidvalidity_reads_the_folder_again_without_duplicates(
    imap: ImapServer, box: MailBoxUnencrypted
) -> None:
    account = account_for(imap, imap_processed_folder="")
    box.append(compose(message_id="<satu@surel.example>"), "INBOX")
    mailin.poll_mailbox(account)
    MailboxState.objects.filter(account=account).update(uidvalidity=1, last_uid=999)
    box.append(compose(message_id="<dua@surel.example>"), "INBOX")
    assert mailin.poll_mailbox(account) == 2  # both read again from UID 1
    assert sorted(Delivery.objects.values_list("external_id", flat=True)) == [
        "dua@surel.example",
        "satu@surel.example",
    ]


def test_mail_over_the_limit_is_set_aside(
    imap: ImapServer, box: MailBoxUnencrypted, settings: Any
) -> None:
    settings.ADUAN_EMAIL_MAX_BYTES = 5_000
    account = account_for(imap)
    box.append(compose(text="x" * 20_000), "INBOX")
    box.append(compose(), "INBOX")
    assert mailin.poll_mailbox(account) == 1
    assert len(uids(box, "Gagal")) == 1
    assert Delivery.objects.count() == 1


def test_a_broken_mailbox_does_not_stop_the_others(
    imap: ImapServer, box: MailBoxUnencrypted
) -> None:
    broken = account_for(imap, slug="salah", password="bukan-sandinya")
    working = account_for(imap, slug="benar")
    box.append(compose(), "INBOX")
    result = mailin.poll_mailboxes()
    assert result == {"salah": -1, "benar": 1}
    assert MailboxState.objects.get(account=broken).last_error
    assert Delivery.objects.get().account == working
