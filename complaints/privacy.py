"""What must never appear in a public post: personal data (MISSION story 3).

A reply under a Facebook comment or an X mention is read by everyone. Before one goes
out, `personal_data_in` looks for phone numbers (libphonenumber, any common way of
writing an Indonesian number), email addresses, 16-digit NIK, account, customer and bill
numbers, money amounts and street addresses. It errs on the side of refusing: the
agent can always say it in private.
"""

from __future__ import annotations

import re

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from complaints.numbers import without_ticket_numbers

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Ten or more digits, possibly grouped: account, customer, card and bill numbers.
LONG_NUMBER = re.compile(r"(?<![\w-])\d(?:[ .-]?\d){9,}(?![\w-])")
LABELLED_NUMBER = re.compile(
    r"\b(?:no(?:mor)?\.?\s*)?(?:rek(?:ening)?|pelanggan|tagihan|kartu|akun|bpjs|polis|"
    r"account|customer|bill|invoice|va|virtual account)\b\.?\s*[:#]?\s*[A-Z0-9][\w-]{3,}",
    re.IGNORECASE,
)
MONEY = re.compile(
    r"(?:\b(?:Rp|IDR)\.?\s?\d[\d.,]*)|(?:\b\d[\d.,]*\s?(?:ribu|rb|juta|jt|miliar|M)\b)",
    re.IGNORECASE,
)
STREET = re.compile(
    r"\b(?:(?:Jl|Jln|Gg)\.?|Jalan|Gang|Komplek|Kompleks|Perum(?:ahan)?)\s+[A-Z0-9][\w.'-]*"
    r"|\bRT\.?\s?\d{1,3}\s?/\s?RW\.?\s?\d{1,3}\b"
    r"|\bBlok\s+[A-Z]{1,2}\s?\d+"
    r"|\bNo\.?\s?\d+[A-Z]?\b"
)

KINDS = (
    (EMAIL, _("an email address")),
    (NIK, _("a NIK (16 digits)")),
    (LABELLED_NUMBER, _("an account, customer or bill number")),
    (LONG_NUMBER, _("an account, customer or bill number")),
    (MONEY, _("a money amount")),
    (STREET, _("a street address")),
)


def personal_data_in(text: str) -> list[str]:
    """What kinds of personal data `text` contains, in words an agent understands.

    Ticket numbers are not personal data, and their random codes are not read as such."""
    text = without_ticket_numbers(text)
    found: list[str] = []
    for _match in phonenumbers.PhoneNumberMatcher(text, settings.ADUAN_DEFAULT_REGION):
        found.append(str(_("a phone number")))
        break
    for pattern, label in KINDS:
        if pattern.search(text) and str(label) not in found:
            found.append(str(label))
    return found
