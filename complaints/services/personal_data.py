"""A citizen's personal data (Indonesia's UU PDP): everything held about them, exported;
or erased — replaced by a pseudonym, while the tickets' statistics (numbers, dates,
states, categories, channels, clocks, scores) stay. An erasure is recorded."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from rest_framework.authtoken.models import Token

from complaints.choices import Direction
from complaints.models import (
    Attachment,
    Citizen,
    DataErasure,
    Message,
    Rating,
    Ticket,
    TicketEvent,
)

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
    (messages, subjects, places, attachments, rating comments, excerpts given to
    partners), their names and numbers wherever staff or partners wrote them (replies,
    notes, reasons, summaries, consult questions and answers, escalations, event data),
    the raw deliveries and chat events that carried any of it. Counts, dates, states,
    categories and scores stay. Attachment files are deleted once the erasure commits."""
    from channels_ingest.models import Delivery  # apps that depend on this one
    from escalation.models import Escalation
    from partners.models import Assignment, ConsultRequest
    from quality.models import ReplyFingerprint
    from webchat.models import ChatEvent

    citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
    pseudonym = pseudonym_for(citizen)
    identities = list(citizen.identities.all())
    known = {
        citizen.name.strip(),
        citizen.email or "",
        citizen.phone or "",
        *(i.display_name for i in identities),
        *(i.address for i in identities),
    }
    redact = _Redactor(known, pseudonym)
    counts: dict[str, int] = {"identities": len(identities)}
    for identity in identities:
        identity.address = f"{pseudonym}:{identity.pk}"
        identity.display_name = ""
        identity.save(update_fields=["address", "display_name"])
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

    tickets = Ticket.objects.filter(citizen=citizen)
    counts["tickets"] = tickets.update(
        subject=ERASED, address="", latitude=None, longitude=None, resolution_summary=""
    )
    messages = Message.objects.filter(ticket__citizen=citizen)
    counts["messages_erased"] = messages.filter(direction=Direction.INBOUND).update(body=ERASED)
    counts["texts_redacted"] = sum(
        redact.rows(model, fields)
        for model, fields in (
            (messages.exclude(direction=Direction.INBOUND), ["body"]),
            (
                TicketEvent.objects.filter(ticket__citizen=citizen),
                ["public_reason", "internal_note"],
            ),
            (Assignment.objects.filter(ticket__citizen=citizen), ["reason", "summary"]),
            (ConsultRequest.objects.filter(ticket__citizen=citizen), ["question", "answer"]),
            (Escalation.objects.filter(ticket__citizen=citizen), ["reason"]),
        )
    )
    counts["excerpts"] = ConsultRequest.objects.filter(ticket__citizen=citizen).update(
        excerpt=ERASED
    )
    counts["event_data"] = _erase_event_data(citizen, redact)
    files = []
    attachments = Attachment.objects.filter(message__ticket__citizen=citizen)
    for attachment in attachments:
        files.append((attachment.file.storage, attachment.file.name))
    counts["attachments"] = len(files)
    attachments.delete()
    transaction.on_commit(lambda: [storage.delete(name) for storage, name in files])
    counts["rating_comments"] = (
        Rating.objects.filter(ticket__citizen=citizen).exclude(comment="").update(comment="")
    )
    carried = Q(message__ticket__citizen=citizen)
    for address in (i for i in known if len(i) >= 6):  # status receipts, failed ones
        carried |= Q(event__icontains=address)
    counts["deliveries"] = Delivery.objects.filter(carried).update(event={"erased": True}, raw=None)
    counts["chat_events"] = ChatEvent.objects.filter(conversation__citizen=citizen).update(
        text=ERASED, sender_name="", data={}
    )
    ReplyFingerprint.objects.filter(ticket__citizen=citizen).update(question_text="")
    return DataErasure.objects.create(
        citizen=citizen, pseudonym=pseudonym, requested_by=requested_by, counts=counts
    )


class _Redactor:
    """Replaces a citizen's names (whole, and each part of three letters or more, in any
    case), addresses and phone numbers (however written) by the pseudonym."""

    def __init__(self, known: set[str], pseudonym: str) -> None:
        self.pseudonym = pseudonym
        self.phones = {e164 for n in known if (e164 := _e164(n))}
        words = {n.strip() for n in known if len(n.strip()) > 1}
        words |= {part for n in words for part in n.split() if len(part) >= 3}
        ordered = sorted(words, key=len, reverse=True)
        self.pattern = (
            re.compile("|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in ordered), re.I)
            if ordered
            else None
        )

    def __call__(self, text: str) -> str:
        if not text:
            return text
        found = phonenumbers.PhoneNumberMatcher(text, settings.ADUAN_DEFAULT_REGION)
        for match in reversed(list(found)):
            written = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if written in self.phones:
                text = text[: match.start] + self.pseudonym + text[match.end :]
        return self.pattern.sub(self.pseudonym, text) if self.pattern else text

    def rows(self, rows: QuerySet[Any], fields: list[str]) -> int:
        """Redacts `fields` of `rows`; returns how many rows changed."""
        changed = 0
        for pk, *values in rows.values_list("pk", *fields):
            new = [self(v) for v in values]
            if new != values:
                rows.model.objects.filter(pk=pk).update(**dict(zip(fields, new, strict=True)))
                changed += 1
        return changed


def _erase_event_data(citizen: Citizen, redact: _Redactor) -> int:
    """Event data that held what the citizen wrote (a subject's old and new text) or
    their names: erased or redacted."""
    changed = 0
    events = TicketEvent.objects.filter(ticket__citizen=citizen).exclude(data={})
    for pk, data in events.values_list("pk", "data"):
        new = dict(data)
        if "subject" in new:
            new["subject"] = [ERASED, ERASED]
        new = json.loads(redact(json.dumps(new, ensure_ascii=False)))
        if new != data:
            TicketEvent.objects.filter(pk=pk).update(data=new)
            changed += 1
    return changed


def _e164(text: str) -> str:
    """`text` as an E.164 number when it is a phone number, else ""."""
    try:
        number = phonenumbers.parse(text, settings.ADUAN_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
