"""A mail server that fails, for the retry tests: Django's test outbox behind a
connection that drops its first `failures` sends."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import Any, ClassVar

from django.core.mail.backends.locmem import EmailBackend


class FlakyBackend(EmailBackend):
    failures: ClassVar[int] = 0
    refused: ClassVar[bool] = False

    def send_messages(self, messages: Sequence[Any]) -> int:
        if type(self).refused:
            raise smtplib.SMTPRecipientsRefused({"x": (550, b"5.1.1 no such user")})
        if type(self).failures > 0:
            type(self).failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
