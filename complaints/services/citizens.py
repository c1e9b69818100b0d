"""Citizens and their channel identities."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from complaints.choices import Channel
from complaints.contacts import normalise_address
from complaints.models import ChannelIdentity, Citizen


def identify_citizen(*, channel: str, address: str, name: str = "") -> Citizen:
    """The citizen behind a sender address on a channel, created on first contact.

    A phone (WhatsApp) or email identity joins the citizen who already has that
    phone number or email, so one person keeps one history across channels.
    """
    key = normalise_address(channel, address)
    identity = ChannelIdentity.objects.select_related("citizen").filter(
        channel=channel, address=key
    )
    if found := identity.first():
        return found.citizen
    try:
        with transaction.atomic():
            citizen = _citizen_for(channel, key, name)
            ChannelIdentity.objects.create(
                citizen=citizen, channel=channel, address=key, display_name=name[:200]
            )
            return citizen
    except IntegrityError:  # a concurrent first message from the same sender won
        return identity.get().citizen


def _citizen_for(channel: str, key: str, name: str) -> Citizen:
    field = {Channel.WHATSAPP: "phone", Channel.PHONE: "phone", Channel.EMAIL: "email"}.get(
        Channel(channel)
    )
    if field is None:
        return Citizen.objects.create(name=name[:200])
    citizen, _created = Citizen.objects.get_or_create(**{field: key}, defaults={"name": name[:200]})
    return citizen
