"""A citizen's personal data (Indonesia's UU PDP): everything held about them, exported;
or erased — replaced by a pseudonym, while the tickets' statistics (numbers, dates,
states, categories, channels, clocks, scores) stay. An erasure is recorded."""

from __future__ import annotations

import hashlib
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from rest_framework.authtoken.models import Token

from complaints.choices import Direction
from complaints.models import Attachment, Citizen, DataErasure, Message, Rating, Ticket

ERASED = "[dihapus atas permintaan warga]"


def export_citizen_data(citizen: Citizen) -> dict[str, Any]:
    """What Aduan holds about the citizen, as JSON-safe data: their profile, channel
    identities, tickets with the messages they and the institution exchanged (not
    internal notes), attachments (names, types, sizes) and their ratings."""
    tickets = Ticket.objects.filter(citizen=citizen).select_related("category").order_by("pk")
    messages = (
        Message.objects.filter(ticket__citizen=citizen, is_internal=False)
        .prefetch_related("attachments")
        .order_by("pk")
    )
    by_ticket: dict[int, list[dict[str, Any]]] = {}
    for m in messages:
        by_ticket.setdefault(m.ticket_id, []).append(
            {
                "at": m.created_at.isoformat(),
                "direction": m.direction,
                "channel": m.channel,
                "body": m.body,
                "attachments": [
                    {"name": a.original_name, "type": a.content_type, "size": a.size}
                    for a in m.attachments.all()
                ],
            }
        )
    ratings = Rating.objects.filter(ticket__citizen=citizen).select_related("ticket")
    return {
        "citizen": {
            "id": citizen.pk,
            "name": citizen.name,
            "email": citizen.email,
            "phone": citizen.phone,
            "preferred_language": citizen.preferred_language,
            "created_at": citizen.created_at.isoformat(),
            "has_account": citizen.user_id is not None,
        },
        "identities": [
            {"channel": i.channel, "address": i.address, "display_name": i.display_name}
            for i in citizen.identities.order_by("pk")
        ],
        "tickets": [
            {
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "category": t.category.name if t.category else None,
                "channel": t.channel,
                "address": t.address,
                "latitude": str(t.latitude) if t.latitude is not None else None,
                "longitude": str(t.longitude) if t.longitude is not None else None,
                "created_at": t.created_at.isoformat(),
                "messages": by_ticket.get(t.pk, []),
            }
            for t in tickets
        ],
        "ratings": [
            {
                "ticket": r.ticket.number,
                "score": r.score,
                "solved": r.solved,
                "comment": r.comment,
                "at": r.created_at.isoformat(),
            }
            for r in ratings
        ],
        "erasures": [
            {"at": e.erased_at.isoformat(), "pseudonym": e.pseudonym}
            for e in citizen.erasures.all()
        ],
    }


def pseudonym_for(citizen: Citizen) -> str:
    """A stable name that says nothing: derived from the id with the site's secret."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:citizen:{citizen.pk}".encode()).hexdigest()
    return f"Warga-{digest[:8].upper()}"


@transaction.atomic
def erase_citizen(citizen: Citizen, *, requested_by: str) -> DataErasure:
    """Replaces the citizen's personal data with a pseudonym, everywhere it is held:
    profile, identities, sign-in account (disabled, its tokens deleted), what they wrote
    (messages, subjects, places, attachments, rating comments), their name and contacts
    in replies, the raw deliveries and chat events that carried it. Counts, dates,
    states and scores stay."""
    from channels_ingest.models import Delivery  # apps that depend on this one
    from quality.models import ReplyFingerprint
    from webchat.models import ChatEvent

    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    pseudonym = pseudonym_for(citizen)
    known = {
        citizen.name.strip(),
        citizen.email or "",
        citizen.phone or "",
        *citizen.identities.values_list("display_name", flat=True),
        *citizen.identities.values_list("address", flat=True),
    }
    names = sorted((n for n in known if len(n) > 1), key=len, reverse=True)
    phones = {e164 for n in known if (e164 := _e164(n))}
    tickets = Ticket.objects.filter(citizen=citizen)
    messages = Message.objects.filter(ticket__citizen=citizen)
    counts: dict[str, int] = {}
    counts["identities"] = 0
    for identity in citizen.identities.all():
        identity.address = f"{pseudonym}:{identity.pk}"
        identity.display_name = ""
        identity.save(update_fields=["address", "display_name"])
        counts["identities"] += 1
    user = citizen.user
    if user is not None:
        user.username = f"erased-{citizen.pk}"
        user.first_name = user.last_name = user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        Token.objects.filter(user=user).delete()
    citizen.name = pseudonym
    citizen.email = citizen.phone = None
    citizen.save(update_fields=["name", "email", "phone"])
    counts["tickets"] = tickets.update(
        subject=ERASED, address="", latitude=None, longitude=None, resolution_summary=""
    )
    counts["messages_erased"] = messages.filter(direction=Direction.INBOUND).update(body=ERASED)
    counts["replies_redacted"] = 0
    for message in messages.exclude(direction=Direction.INBOUND).only("pk", "body"):
        body = _redacted(message.body, names, phones, pseudonym)
        if body != message.body:
            Message.objects.filter(pk=message.pk).update(body=body)
            counts["replies_redacted"] += 1
    attachments = Attachment.objects.filter(message__ticket__citizen=citizen)
    counts["attachments"] = 0
    for attachment in attachments:
        attachment.file.delete(save=False)
        counts["attachments"] += 1
    attachments.delete()
    counts["rating_comments"] = (
        Rating.objects.filter(ticket__citizen=citizen).exclude(comment="").update(comment="")
    )
    counts["deliveries"] = Delivery.objects.filter(message__ticket__citizen=citizen).update(
        event={"erased": True}, raw=None
    )
    counts["chat_events"] = ChatEvent.objects.filter(conversation__citizen=citizen).update(
        text=ERASED, sender_name="", data={}
    )
    ReplyFingerprint.objects.filter(ticket__citizen=citizen).update(question_text="")
    return DataErasure.objects.create(
        citizen=citizen, pseudonym=pseudonym, requested_by=requested_by, counts=counts
    )


def _e164(text: str) -> str:
    """`text` as an E.164 number when it is a phone number, else ""."""
    try:
        number = phonenumbers.parse(text, settings.ADUAN_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _redacted(body: str, names: list[str], phones: set[str], pseudonym: str) -> str:
    """`body` with the citizen's names, contacts and phone numbers (however written)
    replaced by the pseudonym."""
    for match in reversed(
        list(phonenumbers.PhoneNumberMatcher(body, settings.ADUAN_DEFAULT_REGION))
    ):
        written = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if written in phones:
            body = body[: match.start] + pseudonym + body[match.end :]
    for name in names:
        body = body.replace(name, pseudonym)
    return body
