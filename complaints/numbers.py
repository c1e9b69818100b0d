"""Ticket numbers: `<PREFIX>-<YYMM>-<6 Crockford base32 chars>`, random, tolerant lookup."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 6
# Letters people misread or mistype, as Crockford decodes them.
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")
_random = secrets.SystemRandom()


def generate_number(now: datetime) -> str:
    """A fresh random number for a ticket created at `now` (month in the product's zone)."""
    local = now.astimezone(ZoneInfo(settings.ADUAN_TIME_ZONE))
    code = "".join(_random.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{settings.ADUAN_TICKET_PREFIX}-{local:%y%m}-{code}"


def without_ticket_numbers(text: str) -> str:
    """`text` with our ticket numbers blanked out: a random code such as RP70F9 or
    12345M must not read as anything else (a money amount) to a pattern looking at it."""
    prefix = re.escape(settings.ADUAN_TICKET_PREFIX)
    return re.sub(rf"\b{prefix}-\d{{4}}-[{ALPHABET}]{{{CODE_LENGTH}}}\b", " ", text)


def normalise_number(text: str) -> str | None:
    """The canonical form of a number typed by a person, or None if it cannot be one.

    Accepts lower case, surrounding spaces and I/L/O for 1/1/0 in the code part.
    """
    parts = text.strip().upper().replace(" ", "").split("-")
    if len(parts) != 3:
        return None
    prefix, month, code = parts
    month = month.translate(_CONFUSABLE)
    code = code.translate(_CONFUSABLE)
    if not (prefix.isalnum() and len(month) == 4 and month.isdigit() and _CODE_RE.match(code)):
        return None
    return f"{prefix}-{month}-{code}"
