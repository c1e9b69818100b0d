"""Normalised contact addresses: E.164 phone numbers, lower-case emails, channel user ids."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from complaints.choices import Channel

PHONE_CHANNELS = frozenset({Channel.WHATSAPP, Channel.PHONE})


def normalise_phone(raw: str, region: str | None = None) -> str:
    """E.164 form of a phone number; local numbers are read in the default region (ID)."""
    text = raw.strip()
    if text.isdigit() and not text.startswith("0"):
        text = "+" + text  # WhatsApp sends international numbers without the plus
    try:
        number = phonenumbers.parse(text, region or settings.ADUAN_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Not a phone number: %(raw)s") % {"raw": raw}) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Not a valid phone number: %(raw)s") % {"raw": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """An email address with surrounding space removed and the whole address lower-cased."""
    email = raw.strip().lower()
    validate_email(email)
    return email


def normalise_address(channel: str, raw: str) -> str:
    """The identity key of a sender on a channel."""
    if channel in PHONE_CHANNELS:
        return normalise_phone(raw)
    if channel == Channel.EMAIL:
        return normalise_email(raw)
    address = raw.strip()
    if not address:
        raise ValidationError(_("A sender address is required."))
    return address
