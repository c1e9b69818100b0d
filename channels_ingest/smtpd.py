"""The SMTP receiver (`manage.py runsmtpd`), built on aiosmtpd (REFERENCE 5.2).

It takes mail only for the addresses of active mailbox accounts (plus-addressed variants
included), refuses anything larger than ADUAN_EMAIL_MAX_BYTES (552), and answers 250 only
once the message is committed to the inbox; if it cannot be stored, 451, and the sending
server tries again later. Messages arriving together are stored by one INSERT (the
webhooks' `GroupInsert`). In production a mail server (Postfix) in front does TLS, spam
checks and queueing and relays to this listener on a local port.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings

from channels_ingest.mailin import AccountDirectory, Envelope, mail_rows
from channels_ingest.receiver import GroupInsert
from config.health import UNAVAILABLE_ERRORS

logger = logging.getLogger(__name__)


class MailReceiver:
    """aiosmtpd's handler: recipients checked against the mailbox accounts, messages
    stored before they are accepted."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(
            settings.ADUAN_WEBHOOK_THREADS, thread_name_prefix="aduan-smtp"
        )
        self.directory = AccountDirectory()
        self.store = GroupInsert(self.executor)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        loop = server.loop
        try:
            await loop.run_in_executor(self.executor, self.directory.refresh_if_due)
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("mailbox accounts not readable: %s", exc)
            return "451 4.3.0 Temporary failure, try again later"
        if self.directory.account_for(address) is None:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        accounts = [self.directory.account_for(r) for r in envelope.rcpt_tos]
        sender = envelope.mail_from or ""
        about = Envelope(
            via="smtp", mail_from="" if sender == "<>" else sender, rcpt_to=tuple(envelope.rcpt_tos)
        )
        try:
            rows = mail_rows([a for a in accounts if a is not None], raw, about)
            await self.store.save(rows)
        except Exception as exc:
            logger.warning("message from %s not stored: %r", envelope.mail_from, exc)
            return "451 4.3.0 Not stored, try again later"
        return "250 2.0.0 Message accepted for delivery"


def start(host: str, port: int) -> Controller:
    """The receiver listening on host:port, on an event loop of its own thread."""
    controller = Controller(
        MailReceiver(),
        hostname=host,
        port=port,
        data_size_limit=settings.ADUAN_EMAIL_MAX_BYTES,
        enable_SMTPUTF8=True,
        ident="Aduan",
        server_hostname=settings.ADUAN_SMTP_HOSTNAME or None,
    )
    controller.start()
    return controller
