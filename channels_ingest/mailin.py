"""Email's three ways in, one inbox (REFERENCE 5.1 to 5.3).

IMAP polling, the SMTP receiver (`manage.py runsmtpd`) and provider webhooks (through
django-anymail) all end in `store_mail`: the raw bytes and their envelope become one
`Delivery` per mailbox account they were addressed to, deduplicated on the Message-ID,
and the worker parses and processes them like any other channel's events. A message is
acknowledged to whoever handed it over (250, an IMAP move, a 200) only once stored.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from channels_ingest.mail import base_address, message_key
from channels_ingest.models import ChannelAccount, Delivery, MailboxState
from channels_ingest.services import save_deliveries
from complaints.choices import Channel

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the way in knew beside the message: who handed it over and to whom."""

    via: str  # imap, smtp, or the provider's name
    mail_from: str | None = None  # the envelope sender; "" for a null sender (<>)
    rcpt_to: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None


def mailbox_accounts() -> dict[str, ChannelAccount]:
    """Active mailbox accounts by every address they receive for (lower case): the
    account's address and its `aliases` setting."""
    found: dict[str, ChannelAccount] = {}
    for account in ChannelAccount.objects.filter(kind=Channel.EMAIL, is_active=True).order_by("pk"):
        addresses = [account.address, *((account.settings or {}).get("aliases") or [])]
        for address in addresses:
            if address and "@" in address:
                found.setdefault(address.strip().lower(), account)
    return found


class AccountDirectory:
    """`mailbox_accounts`, read again after ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS."""

    def __init__(self) -> None:
        self.expires = 0.0
        self.accounts: dict[str, ChannelAccount] = {}

    def refresh_if_due(self) -> None:
        if time.monotonic() >= self.expires:
            self.accounts = mailbox_accounts()
            self.expires = time.monotonic() + settings.ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS

    def account_for(self, address: str) -> ChannelAccount | None:
        return self.accounts.get(base_address(address))


def mail_rows(accounts: Iterable[ChannelAccount], raw: bytes, envelope: Envelope) -> list[Delivery]:
    """One unsaved inbox row per account the message is for, keyed on its Message-ID."""
    key = message_key(raw)
    event = {
        "kind": "email",
        "via": envelope.via,
        "mail_from": envelope.mail_from,
        "rcpt_to": list(envelope.rcpt_to),
        **(envelope.extra or {}),
    }
    unique = {account.pk: account for account in accounts}
    return [
        Delivery(account=account, external_id=key, event=event, raw=raw)
        for account in unique.values()
    ]


def store_mail(account: ChannelAccount, raw: bytes, envelope: Envelope) -> None:
    """Stores one message for `account` (committed when this returns, unless the caller
    holds a transaction); the same message again changes nothing."""
    save_deliveries(mail_rows([account], raw, envelope))


# --- IMAP -------------------------------------------------------------------------------


def imap_accounts() -> list[ChannelAccount]:
    """Active mailbox accounts with an IMAP server to poll."""
    accounts = ChannelAccount.objects.filter(kind=Channel.EMAIL, is_active=True).order_by("pk")
    return [a for a in accounts if (a.settings or {}).get("imap_host")]


def poll_mailboxes() -> dict[str, int]:
    """Polls every IMAP mailbox; one that fails is recorded and the others go on.
    Returns how many messages each stored (-1 for a failure)."""
    stored: dict[str, int] = {}
    for account in imap_accounts():
        try:
            stored[account.slug] = poll_mailbox(account)
        except Exception as exc:
            logger.warning("mailbox %s: poll failed: %s", account, exc, exc_info=True)
            _record_poll(account, error=f"{type(exc).__name__}: {exc}"[:2000])
            stored[account.slug] = -1
    return stored


def poll_mailbox(account: ChannelAccount, *, batch: int = 50) -> int:
    """Stores the messages that arrived in the account's IMAP folder since the last poll,
    then moves them to the processed folder (or flags them seen); returns how many.

    UIDs are remembered per folder with the folder's UIDVALIDITY: when that changes the
    UIDs mean nothing any more and the folder is read again from the start, the
    Message-ID keeping what was stored before from being stored twice. Messages larger
    than ADUAN_EMAIL_MAX_BYTES go to the failed folder unread.
    """
    from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

    config = account.settings or {}
    folder = config.get("imap_folder") or "INBOX"
    done_folder = config.get("imap_processed_folder", "Processed")
    failed_folder = config.get("imap_failed_folder", "Gagal")
    box_class = MailBox if config.get("imap_ssl", True) else MailBoxUnencrypted
    port = int(config.get("imap_port") or (993 if config.get("imap_ssl", True) else 143))
    state, _created = MailboxState.objects.get_or_create(account=account, folder=folder)
    stored = 0
    limit = settings.ADUAN_EMAIL_MAX_BYTES
    with box_class(config["imap_host"], port, timeout=30).login(
        config.get("imap_user") or account.address, account.access_token, initial_folder=folder
    ) as box:
        uidvalidity = int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                logger.warning("mailbox %s: UIDVALIDITY changed, reading %s again", account, folder)
            state.uidvalidity, state.last_uid = uidvalidity, 0
        for name in {done_folder, failed_folder} - {"", None}:
            if not box.folder.exists(name):
                box.folder.create(name)
        # `n:*` matches the highest message even when it is older than n: filter again.
        uids = [int(u) for u in box.uids(AND(uid=f"{state.last_uid + 1}:*"))]
        uids = sorted(u for u in uids if u > state.last_uid)
        for start in range(0, len(uids), batch):
            chunk = [str(u) for u in uids[start : start + batch]]
            sizes = _fetched(box.client, chunk, "RFC822.SIZE")
            big = [uid for uid in chunk if int(sizes.get(uid, (b"0", b""))[0] or 0) > limit]
            wanted = [uid for uid in chunk if uid not in big]
            bodies = _fetched(box.client, wanted, "BODY.PEEK[]") if wanted else {}
            fetched = [(uid, bodies[uid][1]) for uid in wanted if uid in bodies]
            envelope = Envelope(via="imap", extra={"folder": folder})
            with transaction.atomic():
                save_deliveries(
                    [row for _uid, raw in fetched for row in mail_rows([account], raw, envelope)]
                )
            done = [uid for uid, _raw in fetched]
            if done and done_folder:
                box.move(done, done_folder)
            elif done:
                box.flag(done, MailMessageFlags.SEEN, True)
            if big:
                logger.warning(
                    "mailbox %s: %d messages over %d bytes set aside", account, len(big), limit
                )
                if failed_folder:
                    box.move(big, failed_folder)
            stored += len(done)
            state.last_uid = int(chunk[-1])
            state.save(update_fields=["uidvalidity", "last_uid"])
    _record_poll(account, error="", state=state)
    return stored


def _fetched(client: Any, uids: list[str], item: str) -> dict[str, tuple[bytes, bytes]]:
    """`UID FETCH` of `item` for `uids`: {uid: (the item's value in the response line, the
    literal that followed it, if any)}. The exact bytes the server holds, not a message
    parsed and written out again."""
    status, data = client.uid("FETCH", ",".join(uids), f"(UID {item})")
    if status != "OK":
        raise RuntimeError(f"UID FETCH {item} failed: {status} {data!r}")
    found: dict[str, tuple[bytes, bytes]] = {}
    for entry in data:
        line, literal = (entry[0], entry[1]) if isinstance(entry, tuple) else (entry, b"")
        if not isinstance(line, bytes) or (uid := _UID.search(line)) is None:
            continue
        value = _SIZE.search(line)
        found[uid.group(1).decode()] = (value.group(1) if value else b"", literal or b"")
    return found


_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _record_poll(account: ChannelAccount, *, error: str, state: MailboxState | None = None) -> None:
    folder = (account.settings or {}).get("imap_folder") or "INBOX"
    MailboxState.objects.update_or_create(
        account=account,
        folder=folder,
        defaults={"polled_at": timezone.now(), "last_error": error}
        | ({"uidvalidity": state.uidvalidity, "last_uid": state.last_uid} if state else {}),
    )


# --- Provider webhooks (django-anymail) -------------------------------------------------


def store_inbound_event(esp_name: str, message: Any, event_id: str | None) -> None:
    """Stores a provider's inbound message (an `AnymailInboundMessage`) for the mailbox it
    was addressed to. Raises if no mailbox account takes it, so the provider retries."""
    directory = mailbox_accounts()
    candidates: Sequence[str] = [
        message.envelope_recipient or "",
        *(str(a.addr_spec) for a in (message.to or [])),
        *(str(a.addr_spec) for a in (message.cc or [])),
    ]
    accounts = [a for c in candidates if c and (a := directory.get(base_address(c)))]
    if not accounts:
        raise LookupError(f"{esp_name}: inbound mail for no mailbox account: {candidates}")
    envelope = Envelope(
        via=esp_name.lower(),
        mail_from=message.envelope_sender,
        rcpt_to=tuple(c for c in candidates if c),
        extra={"provider_event_id": event_id or ""},
    )
    save_deliveries(mail_rows(accounts, message.as_bytes(), envelope))


def on_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """django-anymail's `inbound` signal, sent once per message after the provider's
    request passed its validation (basic auth, and the signature where the provider
    signs); an exception here answers the provider with an error, and it retries."""
    store_inbound_event(esp_name, event.message, event.event_id)
