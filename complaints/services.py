"""The one write path of the ticket core: open, post, transition, assign, change.

Every function locks what it changes, records an event and sends side effects only
after commit. Views, admin, webhooks and tasks call these and never save models.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from complaints.choices import (
    AuthorKind,
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    Priority,
    Status,
)
from complaints.contacts import normalise_address
from complaints.exceptions import StaleTicket
from complaints.models import (
    Attachment,
    Category,
    ChannelIdentity,
    Citizen,
    Message,
    Ticket,
    TicketEvent,
)
from complaints.numbers import generate_number
from complaints.roles import STAFF_ROLES, Role, role_of
from complaints.selectors import tickets_visible_to, transition_names

logger = logging.getLogger(__name__)

NUMBER_ATTEMPTS = 8
QUEUE_GROUP = "queue-agents"


@dataclass(frozen=True, slots=True)
class NewAttachment:
    name: str
    content: bytes
    content_type: str


# --- Citizens ------------------------------------------------------------------------


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


# --- Tickets and messages ------------------------------------------------------------


@transaction.atomic
def open_ticket(
    *,
    citizen: Citizen,
    channel: str,
    subject: str,
    body: str,
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    channel_account: Any = None,
    external_id: str = "",
    attachments: Sequence[NewAttachment] = (),
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    by: Any = None,
) -> Ticket:
    """A new ticket, numbered in the same transaction that stores its first message.

    Idempotent on the channel's message id: the same delivery again returns the
    ticket it opened the first time.
    """
    if role_of(by) is Role.CITIZEN and citizen.user_id != by.pk:
        raise PermissionDenied(_("Citizens open complaints only for themselves."))
    _check_attachments(attachments)
    if existing := _message_by_external_id(channel, external_id):
        return existing.ticket
    subject = (subject.strip() or _first_line(body))[:200]
    if not subject:
        raise ValidationError({"subject": _("A complaint needs a subject or a description.")})
    fields = {
        "citizen": citizen,
        "channel": channel,
        "subject": subject,
        "category": category,
        "priority": _priority(priority),
        "channel_account": channel_account,
        "address": address,
        "latitude": latitude,
        "longitude": longitude,
    }
    author_kind = (
        AuthorKind.CITIZEN if by is None or role_of(by) is Role.CITIZEN else AuthorKind.AGENT
    )
    for _attempt in range(NUMBER_ATTEMPTS):
        number = generate_number(timezone.now())
        try:
            with transaction.atomic():
                ticket: Ticket = Ticket.objects.create(number=number, **fields)
                _store_message(
                    ticket=ticket,
                    direction=Direction.INBOUND,
                    channel=channel,
                    author_kind=author_kind,
                    by=by,
                    body=body,
                    external_id=external_id,
                    attachments=attachments,
                )
        except IntegrityError:
            if existing := _message_by_external_id(channel, external_id):
                return existing.ticket  # the same delivery, stored concurrently
            if Ticket.objects.filter(number=number).exists():
                logger.info("ticket number %s taken, drawing another", number)
                continue
            raise
        _record(ticket, EventKind.CREATED, by=by, to_status=Status.NEW)
        _broadcast(ticket, "ticket.created")
        return ticket
    raise RuntimeError(f"no free ticket number after {NUMBER_ATTEMPTS} attempts")


@transaction.atomic
def post_message(
    *,
    ticket: Ticket,
    body: str,
    author_kind: str,
    by: Any = None,
    channel: str | None = None,
    is_internal: bool = False,
    external_id: str = "",
    attachments: Sequence[NewAttachment] = (),
) -> Message:
    """Adds a message to the conversation.

    Citizens' messages are inbound and resume a ticket waiting for them; a person's
    first public outbound reply stops the first-response clock. Idempotent on the
    channel's message id.
    """
    author_kind = AuthorKind(author_kind)
    _check_can_post(ticket, author_kind=author_kind, by=by, is_internal=is_internal)
    _check_attachments(attachments)
    if not body.strip() and not attachments:
        raise ValidationError({"body": _("A message needs text or an attachment.")})
    channel = channel or ticket.channel
    if existing := _message_by_external_id(channel, external_id):
        return existing
    inbound = author_kind is AuthorKind.CITIZEN
    try:
        with transaction.atomic():
            message = _store_message(
                ticket=ticket,
                direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                channel=channel,
                author_kind=author_kind,
                by=by,
                body=body,
                external_id=external_id,
                attachments=attachments,
                is_internal=is_internal,
            )
    except IntegrityError:
        if existing := _message_by_external_id(channel, external_id):
            return existing
        raise
    if inbound and Ticket.objects.filter(pk=ticket.pk, status=Status.WAITING_CITIZEN).exists():
        ticket = _resume_on_reply(ticket)
    is_person = author_kind in (AuthorKind.AGENT, AuthorKind.PARTNER)
    if is_person and not is_internal and ticket.first_response_at is None:
        Ticket.objects.filter(pk=ticket.pk, first_response_at__isnull=True).update(
            first_response_at=message.created_at
        )
        ticket.first_response_at = message.created_at
    _broadcast(ticket, "message.created", message=message.pk)
    return message


def _resume_on_reply(ticket: Ticket) -> Ticket:
    """The citizen answered: the resolution clock runs again."""
    try:
        with transaction.atomic():
            return transition_ticket(
                ticket=ticket, transition="resume", by=None, note=_("The citizen replied.")
            )
    except TransitionNotAllowed:  # an agent resumed it in the meantime
        return ticket


def _check_can_post(ticket: Ticket, *, author_kind: AuthorKind, by: Any, is_internal: bool) -> None:
    role = role_of(by)
    expected = {
        Role.CITIZEN: AuthorKind.CITIZEN,
        Role.AGENT: AuthorKind.AGENT,
        Role.SUPERVISOR: AuthorKind.AGENT,
        Role.PARTNER: AuthorKind.PARTNER,
    }
    if role is not Role.SYSTEM:
        if expected.get(role) is not author_kind:
            raise PermissionDenied(_("You cannot post as %(kind)s.") % {"kind": author_kind.label})
        if not tickets_visible_to(by).filter(pk=ticket.pk).exists():
            raise PermissionDenied(_("This ticket is not yours."))
    if is_internal and author_kind in (AuthorKind.CITIZEN, AuthorKind.SYSTEM):
        raise ValidationError({"is_internal": _("Only staff and partners write internal notes.")})


def _store_message(
    *,
    ticket: Ticket,
    direction: str,
    channel: str,
    author_kind: str,
    by: Any,
    body: str,
    external_id: str,
    attachments: Sequence[NewAttachment],
    is_internal: bool = False,
) -> Message:
    outbound_public = direction == Direction.OUTBOUND and not is_internal
    message = Message.objects.create(
        ticket=ticket,
        direction=direction,
        is_internal=is_internal,
        channel=channel,
        author_kind=author_kind,
        author=by,
        body=body,
        external_id=external_id,
        delivery_status=DeliveryStatus.QUEUED if outbound_public else "",
    )
    for item in attachments:
        Attachment.objects.create(
            message=message,
            file=ContentFile(item.content, name=item.name),
            original_name=item.name[:255],
            content_type=item.content_type[:100],
            size=len(item.content),
            sha256=hashlib.sha256(item.content).hexdigest(),
        )
    return message


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


def _priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError as exc:
        raise ValidationError(
            {"priority": _("Unknown priority: %(value)s") % {"value": value}}
        ) from exc


def _message_by_external_id(channel: str, external_id: str) -> Message | None:
    if not external_id:
        return None
    found = Message.objects.select_related("ticket").filter(
        channel=channel, external_id=external_id
    )
    return found.first()


def _check_attachments(attachments: Sequence[NewAttachment]) -> None:
    limit = settings.ADUAN_MAX_ATTACHMENT_BYTES
    for item in attachments:
        if len(item.content) > limit:
            raise ValidationError(
                {
                    "attachments": _("%(name)s is larger than %(limit)d bytes.")
                    % {"name": item.name, "limit": limit}
                }
            )


# --- Lifecycle and assignment --------------------------------------------------------


@transaction.atomic
def transition_ticket(
    *,
    ticket: Ticket,
    transition: str,
    by: Any,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
    partner: Any = None,
    into: Ticket | None = None,
    summary: str = "",
) -> Ticket:
    """Moves the ticket along its lifecycle and records who, why and when.

    Raises TransitionNotAllowed (not from this state), StaleTicket (changed since
    `expected_version`), PermissionDenied (not this actor's) or ValidationError
    (a required reason or argument missing).
    """
    if transition not in transition_names():
        raise ValidationError(
            {"transition": _("Unknown transition: %(name)s") % {"name": transition}}
        )
    ticket = _lock(ticket, expected_version)
    method = getattr(ticket, transition)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"'{transition}' is not allowed from '{ticket.status}'", object=ticket, method=method
        )
    if not has_transition_perm(method, by):
        raise PermissionDenied(_("You may not %(name)s this ticket.") % {"name": transition})
    custom = method._django_fsm.get_transition(ticket.status).custom
    if custom["reason_required"] and not reason.strip():
        raise ValidationError({"reason": _("A reason the citizen can read is required.")})
    kwargs, data = _transition_arguments(
        ticket, custom.get("needs"), partner, into, summary or reason
    )
    from_status = ticket.status
    method(**kwargs)
    ticket.version += 1
    ticket.save()
    _record(
        ticket,
        custom["event"],
        by=by,
        from_status=from_status,
        to_status=ticket.status,
        reason=reason,
        note=note,
        data=data,
    )
    _broadcast(ticket, "ticket.updated")
    return ticket


def _transition_arguments(
    ticket: Ticket, needs: str | None, partner: Any, into: Ticket | None, summary: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checks what a transition needs and returns its arguments and the event's data."""
    if needs == "partner":
        if partner is None or not partner.is_active:
            raise ValidationError({"partner": _("Choose an active partner organisation.")})
        return {"partner_id": partner.pk}, {"partner": partner.slug}
    if needs == "into":
        if into is None or into.pk == ticket.pk:
            raise ValidationError({"into": _("Choose another ticket to merge into.")})
        if into.status not in Status.open_states():
            raise ValidationError({"into": _("Tickets can only be merged into an open ticket.")})
        return {"into_id": into.pk}, {"into": into.number}
    if needs == "summary":
        return {"summary": summary}, {}
    return {}, {}


@transaction.atomic
def assign_ticket(
    *, ticket: Ticket, assignee: Any, by: Any, expected_version: int | None = None
) -> Ticket:
    """Gives the ticket to an agent (or to nobody). Only staff assign, only to staff."""
    if role_of(by) not in STAFF_ROLES and role_of(by) is not Role.SYSTEM:
        raise PermissionDenied(_("Only agents and supervisors assign tickets."))
    if assignee is not None and role_of(assignee) not in STAFF_ROLES:
        raise ValidationError({"assignee": _("Tickets can only be assigned to agents.")})
    ticket = _lock(ticket, expected_version)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee.get_username() if ticket.assignee else None
    ticket.assignee = assignee
    ticket.version += 1
    ticket.save(update_fields=["assignee", "version", "updated_at"])
    new = assignee.get_username() if assignee else None
    _record(ticket, EventKind.ASSIGNED, by=by, data={"from": previous, "to": new})
    _broadcast(ticket, "ticket.updated")
    return ticket


@transaction.atomic
def change_ticket_details(
    *,
    ticket: Ticket,
    by: Any,
    expected_version: int | None = None,
    subject: str | None = None,
    category: Category | None = None,
    priority: str | None = None,
) -> Ticket:
    """Changes subject, category or priority; the event lists what changed."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only agents and supervisors change ticket details."))
    ticket = _lock(ticket, expected_version)
    wanted = {
        "subject": subject,
        "category": category,
        "priority": _priority(priority) if priority is not None else None,
    }
    changes: dict[str, list[Any]] = {}
    for field, value in wanted.items():
        if value is None or getattr(ticket, field) == value:
            continue
        changes[field] = [str(getattr(ticket, field)), str(value)]
        setattr(ticket, field, value)
    if not changes:
        return ticket
    if not ticket.subject.strip():
        raise ValidationError({"subject": _("The subject cannot be empty.")})
    ticket.version += 1
    ticket.save(update_fields=[*changes, "version", "updated_at"])
    _record(ticket, EventKind.DETAILS_CHANGED, by=by, data=changes)
    _broadcast(ticket, "ticket.updated")
    return ticket


def close_resolved_tickets(*, now: datetime, after: timedelta) -> int:
    """Closes tickets resolved longer than `after` ago that nobody reopened; returns how many."""
    due = Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=now - after)
    closed = 0
    for pk in due.values_list("pk", flat=True).iterator():
        try:
            transition_ticket(
                ticket=Ticket(pk=pk),
                transition="close",
                by=None,
                note=_("Closed automatically: no reopen after resolution."),
            )
        except TransitionNotAllowed:  # reopened or closed meanwhile
            continue
        closed += 1
    return closed


# --- Internals -----------------------------------------------------------------------


def _lock(ticket: Ticket, expected_version: int | None) -> Ticket:
    """The ticket's row, locked for this transaction, at the version the caller saw."""
    locked: Ticket = (
        Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleTicket(expected=expected_version, actual=locked.version)
    return locked


def _record(
    ticket: Ticket,
    kind: str,
    *,
    by: Any,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=by,
        actor_role=role_of(by),
        public_reason=reason.strip(),
        internal_note=note.strip(),
        data=data or {},
    )


def _broadcast(ticket: Ticket, kind: str, **extra: Any) -> None:
    """A thin live event (ids only) to the agents' queue and the ticket's group, after commit."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {
        "type": kind,
        "ticket": ticket.pk,
        "number": ticket.number,
        "status": ticket.status,
        "version": ticket.version,
        **extra,
    }
    send = async_to_sync(layer.group_send)
    for group in (QUEUE_GROUP, f"ticket-{ticket.pk}"):
        transaction.on_commit(partial(send, group, event), robust=True)
