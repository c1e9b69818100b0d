"""Agents' replies from the workspace: canned responses with placeholders, and the status
block every reply to the citizen carries unless the agent explicitly leaves it out.

Status, not opinion: the citizen reads where the complaint stands (state, next step, who
holds it, due time), generated from the ticket itself, not an agent's reassurance.
"""

from __future__ import annotations

from string import Formatter
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.choices import CITIZEN_LANGUAGES, AuthorKind, Direction, Status, citizen_label
from complaints.models import Message, Ticket
from complaints.services.messages import post_message

PLACEHOLDERS = ("citizen_name", "ticket_number", "due_at", "status")

NEXT_STEP: dict[str, dict[str, str]] = {
    Status.NEW: {
        "id": "Petugas akan menelaah pengaduan Anda.",
        "en": "An officer will review your complaint.",
    },
    Status.TRIAGED: {
        "id": "Pengaduan Anda diteruskan ke petugas yang menanganinya.",
        "en": "Your complaint is going to the officer who will handle it.",
    },
    Status.IN_PROGRESS: {
        "id": "Petugas sedang menindaklanjuti pengaduan Anda.",
        "en": "An officer is working on your complaint.",
    },
    Status.WAITING_CITIZEN: {
        "id": "Kami menunggu jawaban Anda: balas pesan ini.",
        "en": "We are waiting for your answer: reply to this message.",
    },
    Status.WITH_PARTNER: {
        "id": "Mitra sedang menanganinya; kami memantau sampai selesai.",
        "en": "A partner organisation is handling it; we follow it until it is done.",
    },
    Status.RESOLVED: {
        "id": "Jika masalahnya belum selesai, balas pesan ini dan pengaduan dibuka kembali.",
        "en": "If the problem is not solved, reply to this message to reopen it.",
    },
}
NO_NEXT_STEP = {"id": "Tidak ada langkah lanjutan.", "en": "No further step."}
BLOCK_LABELS = {
    "id": ("Status pengaduan", "Langkah berikut", "Ditangani oleh", "Batas waktu"),
    "en": ("Complaint status", "Next step", "Handled by", "Due"),
}


# Dates as people write them: an ISO date and time reads to the public-post guard as one
# long account number.
MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def placeholders_in(text: str) -> set[str]:
    """The placeholders `text` uses; a ValidationError names any unknown or malformed."""
    try:
        fields = [
            (n, spec, conv) for _lit, n, spec, conv in Formatter().parse(text) if n is not None
        ]
    except ValueError as exc:
        message = _("Malformed placeholder (%(error)s): write {name}, or {{ for a brace.")
        raise ValidationError({"body": message % {"error": exc}}) from exc
    if any(spec or conv for _n, spec, conv in fields) or any(not n for n, _s, _c in fields):
        raise ValidationError(
            {"body": _("Placeholders are written plainly, as {ticket_number}: no formats.")}
        )
    used = {name for name, _spec, _conv in fields}
    if unknown := used - set(PLACEHOLDERS):
        raise ValidationError(
            {
                "body": _("Unknown placeholders: %(unknown)s. Known: %(known)s.")
                % {
                    "unknown": ", ".join(sorted(unknown)),
                    "known": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                }
            }
        )
    return used


def fill(text: str, ticket: Ticket, *, public: bool = False) -> str:
    """`text` with its placeholders filled for `ticket` (checked by `placeholders_in`).
    For a `public` reply the citizen is not named."""
    placeholders_in(text)
    language = _language(ticket)
    values = {
        "citizen_name": _("Bapak/Ibu")
        if public or not ticket.citizen.name
        else ticket.citizen.name,
        "ticket_number": ticket.number,
        "due_at": _due_text(ticket) or "-",
        "status": citizen_label(ticket.status, language),
    }
    values["citizen_name"] = values["citizen_name"] or _("Bapak/Ibu")
    return text.format_map(values)


def status_block(ticket: Ticket) -> str:
    """Where the complaint stands, in the citizen's language: state, next step, who holds
    it (the partner organisation, or the team: never a person), the due time."""
    language = _language(ticket)
    state, step, holder, due = BLOCK_LABELS[language]
    lines = [
        f"{state} {ticket.number}: {citizen_label(ticket.status, language)}",
        f"{step}: {NEXT_STEP.get(ticket.status, NO_NEXT_STEP)[language]}",
    ]
    if ticket.status in Status.open_states():
        partner = ticket.partner.name if ticket.partner_id and ticket.partner else ""
        lines.append(f"{holder}: {partner or settings.ADUAN_TEAM_NAME}")
        if due_text := _due_text(ticket):
            lines.append(f"{due}: {due_text}")
    return "\n".join(lines)


def reply_is_public(ticket: Ticket) -> bool:
    """Whether a reply on the ticket's channel is posted where anyone reads it: the
    conversation started (or last went on) as a public comment or mention."""
    last = (
        Message.objects.filter(
            ticket=ticket, direction=Direction.INBOUND, channel=ticket.channel, is_internal=False
        )
        .order_by("-pk")
        .values_list("is_public", flat=True)
        .first()
    )
    return bool(last)


@transaction.atomic
def reply(
    *, ticket: Ticket, by: Any, body: str, internal: bool = False, with_status: bool = True
) -> Message:
    """An agent's message: an internal note, or a reply on the citizen's channel that ends
    with the status block unless `with_status` is False (the agent's explicit choice).
    A public reply is refused if it (or its block) holds personal data."""
    ticket = Ticket.objects.select_related("citizen", "partner").get(pk=ticket.pk)
    text = body.strip()
    if not text:
        raise ValidationError({"body": _("Write the reply first.")})
    if not internal and with_status:
        text = f"{text}\n\n{status_block(ticket)}"
    return post_message(
        ticket=ticket,
        body=text,
        author_kind=AuthorKind.AGENT,
        by=by,
        is_internal=internal,
        is_public=not internal and reply_is_public(ticket),
    )


def _language(ticket: Ticket) -> str:
    language = ticket.citizen.preferred_language
    return language if language in CITIZEN_LANGUAGES else "id"


def _due_text(ticket: Ticket) -> str:
    """The next due time the citizen is owed, in local time, or "" when none runs."""
    if ticket.status not in Status.open_states():
        return ""
    first = ticket.first_response_due_at if ticket.first_response_at is None else None
    due = min((d for d in (first, ticket.resolution_due_at) if d), default=None)
    if due is None:
        return ""
    local = timezone.localtime(due)
    month = MONTHS[_language(ticket)][local.month - 1]
    if _language(ticket) == "en":
        return f"{local.day} {month} {local.year}, {local:%H:%M} {local.tzname()}"
    return f"{local.day} {month} {local.year} pukul {local:%H.%M} {local.tzname()}"
