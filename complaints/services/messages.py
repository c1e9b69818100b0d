"""Opening tickets and posting messages: numbered at once, idempotent on provider ids."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed

from complaints.choices import (
    AuthorKind,
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    Priority,
    Status,
)
from complaints.exceptions import IdempotencyMismatch
from complaints.models import (
    Attachment,
    Category,
    Citizen,
    IdempotencyKey,
    Message,
    Ticket,
    TicketEvent,
)
from complaints.numbers import generate_number
from complaints.privacy import personal_data_in
from complaints.roles import Role, role_of
from complaints.selectors import (
    message_by_external_id,
    messages_by_external_id,
    tickets_visible_to,
)
from complaints.services.common import broadcast, new_event, parse_priority
from complaints.services.lifecycle import transition_ticket

logger = logging.getLogger(__name__)

NUMBER_ATTEMPTS = 8
# Channels whose outbound messages a provider delivers (and reports on).
DELIVERED_CHANNELS = frozenset(
    {
        Channel.WHATSAPP,
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.X,
        Channel.TELEGRAM,
        Channel.EMAIL,
    }
)


@dataclass(frozen=True, slots=True)
class NewAttachment:
    name: str
    content: bytes
    content_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTicket:
    """A complaint to open: what `open_ticket` takes, for `open_tickets`."""

    citizen: Citizen
    channel: str
    subject: str
    body: str
    category: Category | None = None
    priority: str = Priority.NORMAL
    channel_account: Any = None
    external_id: str = ""
    attachments: Sequence[NewAttachment] = ()
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    by: Any = None
    is_public: bool = False


def open_ticket(**details: Any) -> Ticket:
    """A new ticket, numbered in the same transaction that stores its first message.

    Takes `NewTicket`'s fields. Idempotent on the channel's message id: the same delivery
    again returns the ticket it opened the first time.
    """
    return open_tickets([NewTicket(**details)])[0]


def open_tickets(requests: Sequence[NewTicket]) -> list[Ticket]:
    """Tickets for `requests`, in their order, all in one transaction: each numbered, with
    its creation event and first message. One INSERT per table whatever their number, so
    that requests arriving together are stored together (the API's fast path).

    All or nothing: one request refused (ValidationError, PermissionDenied) stores none.
    A request carrying a channel message id already stored (earlier, concurrently or
    twice in `requests`) gets the ticket that message opened. Called outside a
    transaction, each attempt is a transaction of its own (no savepoints to pay for).
    """
    return [ticket for ticket, _first in open_conversations(requests)]


def open_conversations(requests: Sequence[NewTicket]) -> list[tuple[Ticket, Message]]:
    """`open_tickets`, each ticket with the message that opened it (the request's own, or
    for a channel message stored already, that message)."""
    drafts = [_draft(request) for request in requests]
    for _attempt in range(NUMBER_ATTEMPTS):
        stored = messages_by_external_id((r.channel, r.external_id) for r in requests)
        opening: dict[tuple[str, str], Ticket] = {}
        tickets: list[Ticket] = []
        firsts: list[Message | None] = []  # the stored message, or None: the new one
        new: list[tuple[NewTicket, Ticket]] = []
        now = timezone.now()
        numbers: set[str] = set()
        for request, draft in zip(requests, drafts, strict=True):
            key = (request.channel, request.external_id)
            if request.external_id and key in stored:
                tickets.append(stored[key].ticket)
                firsts.append(stored[key])
                continue
            if request.external_id and key in opening:
                ticket = opening[key]  # the same delivery twice in this group
            else:
                ticket = Ticket(number=_fresh_number(now, numbers), **draft)
                new.append((request, ticket))
                if request.external_id:
                    opening[key] = ticket
            tickets.append(ticket)
            firsts.append(None)
        try:
            with transaction.atomic():
                inserted = _insert_opened(new, now)
        except IntegrityError:
            if messages_by_external_id((r.channel, r.external_id) for r, _t in new):
                continue  # the same delivery, stored concurrently: answered from it now
            if Ticket.objects.filter(number__in=numbers).exists():
                logger.info("a ticket number of %s was taken, drawing again", sorted(numbers))
                continue
            raise
        for _request, ticket in new:
            broadcast(ticket, "ticket.created", watched=False)
        opener = {id(ticket): first for (_r, ticket), first in zip(new, inserted, strict=True)}
        return [
            (ticket, first or opener[id(ticket)])
            for ticket, first in zip(tickets, firsts, strict=True)
        ]
    raise RuntimeError(f"no free ticket numbers after {NUMBER_ATTEMPTS} attempts")


def _draft(request: NewTicket) -> dict[str, Any]:
    """The new ticket's fields, once `request` is checked."""
    by = request.by
    if role_of(by) is Role.CITIZEN and request.citizen.user_id != by.pk:
        raise PermissionDenied(_("Citizens open complaints only for themselves."))
    _check_attachments(request.attachments)
    subject = (request.subject.strip() or _first_line(request.body))[:200]
    if not subject:
        raise ValidationError({"subject": _("A complaint needs a subject or a description.")})
    return {
        "citizen": request.citizen,
        "channel": request.channel,
        "subject": subject,
        "category": request.category,
        "priority": parse_priority(request.priority),
        "channel_account": request.channel_account,
        "address": request.address,
        "latitude": request.latitude,
        "longitude": request.longitude,
    }


def _fresh_number(now: datetime, drawn: set[str]) -> str:
    """A number not among those `drawn` for this batch (the database checks the rest)."""
    number = generate_number(now)
    while number in drawn:
        number = generate_number(now)
    drawn.add(number)
    return number


def _insert_opened(opened: Sequence[tuple[NewTicket, Ticket]], now: datetime) -> list[Message]:
    """The tickets with their SLA clocks, creation events and first messages (returned):
    one INSERT per table."""
    from escalation import services as sla  # the escalation app depends on this one

    clocks = [clock for _request, ticket in opened for clock in sla.plan_clocks(ticket, now)]
    Ticket.objects.bulk_create([ticket for _request, ticket in opened])
    sla.start_clocks(clocks)
    sla.critical_opened([ticket for _request, ticket in opened], now)
    TicketEvent.objects.bulk_create(
        [
            new_event(ticket, EventKind.CREATED, by=request.by, to_status=Status.NEW)
            for request, ticket in opened
        ]
    )
    messages = Message.objects.bulk_create(
        [
            _new_message(
                ticket=ticket,
                direction=Direction.INBOUND,
                channel=request.channel,
                author_kind=_opener_kind(request.by),
                by=request.by,
                body=request.body,
                external_id=request.external_id,
                is_public=request.is_public,
            )
            for request, ticket in opened
        ]
    )
    for (request, _ticket), message in zip(opened, messages, strict=True):
        for item in request.attachments:
            _store_attachment(message, item)
    return messages


def _opener_kind(by: Any) -> AuthorKind:
    """Who wrote a new ticket's first message: the citizen, or staff on their behalf."""
    return AuthorKind.CITIZEN if by is None or role_of(by) is Role.CITIZEN else AuthorKind.AGENT


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
    is_public: bool = False,
    in_reply_to: Message | None = None,
) -> Message:
    """Adds a message to the conversation.

    Citizens' messages are inbound and resume a ticket waiting for them; a person's
    first public outbound reply stops the first-response clock. Outbound messages on a
    chat or social channel are queued and sent after commit. Idempotent on the
    channel's message id.
    """
    author_kind = AuthorKind(author_kind)
    _check_can_post(ticket, author_kind=author_kind, by=by, is_internal=is_internal)
    if is_public and author_kind is not AuthorKind.CITIZEN:
        _check_public(body)
    _check_attachments(attachments)
    if not body.strip() and not attachments:
        raise ValidationError({"body": _("A message needs text or an attachment.")})
    channel = channel or ticket.channel
    if existing := message_by_external_id(channel, external_id):
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
                is_public=is_public,
                in_reply_to=in_reply_to,
            )
    except IntegrityError:
        if existing := message_by_external_id(channel, external_id):
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
        from escalation import services as sla  # the escalation app depends on this one

        sla.first_response_made(ticket, message.created_at)
    if message.delivery_status == DeliveryStatus.QUEUED and channel == Channel.WEBCHAT:
        from webchat.services import relay  # the chat app depends on this one

        relay(message)
    if message.delivery_status == DeliveryStatus.QUEUED and channel in DELIVERED_CHANNELS:
        from channels_ingest.tasks import send_message  # the channels app depends on this one

        transaction.on_commit(partial(send_message.enqueue, message.pk))
    if is_person and not is_internal and message.direction == Direction.OUTBOUND:
        from quality.tasks import fingerprint_reply  # the quality app depends on this one

        transaction.on_commit(partial(fingerprint_reply.enqueue, message.pk))
    broadcast(ticket, "message.created", message=message.pk)
    return message


def post_replies(
    replies: Sequence[tuple[Message, str]], *, new_tickets: bool = False
) -> list[Message]:
    """System replies (acknowledgements) to inbound messages, one INSERT whatever their
    number: each on its message's ticket, channel and publicity, queued, and sent after
    commit from this process, as they are in memory (`send_now`). Public ones carry no
    personal data (ValidationError).
    With `new_tickets` (opened in this transaction) no message event is pushed: their
    `ticket.created` after the same commit announces them, replies included."""
    messages = []
    for inbound, body in replies:
        if inbound.is_public:
            _check_public(body)
        messages.append(
            _new_message(
                ticket=inbound.ticket,
                direction=Direction.OUTBOUND,
                channel=inbound.channel,
                author_kind=AuthorKind.SYSTEM,
                by=None,
                body=body,
                external_id="",
                is_public=inbound.is_public,
                in_reply_to=inbound,
            )
        )
    Message.objects.bulk_create(messages)
    for message in messages:
        if message.channel == Channel.WEBCHAT:
            from webchat.services import relay  # the chat app depends on this one

            relay(message)
        if not new_tickets:
            broadcast(message.ticket, "message.created", message=message.pk)
    if sent := [m for m in messages if m.channel in DELIVERED_CHANNELS]:
        from channels_ingest.tasks import send_now  # the channels app depends on this one

        transaction.on_commit(partial(send_now, sent))
    return messages


@transaction.atomic
def add_attachments(*, message: Message, attachments: Sequence[NewAttachment]) -> Message:
    """Files that arrive after their message (channel media fetched from the provider)."""
    _check_attachments(attachments)
    for item in attachments:
        _store_attachment(message, item)
    broadcast(message.ticket, "message.updated", message=message.pk)
    return message


def _check_public(body: str) -> None:
    """A public post carries no personal data: refused, with what was found."""
    if found := personal_data_in(body):
        raise ValidationError(
            {
                "body": _(
                    "A public reply cannot contain personal data (found: %(found)s). "
                    "Send it as a private message instead."
                )
                % {"found": ", ".join(found)}
            }
        )


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
    if is_internal and author_kind is AuthorKind.CITIZEN:
        raise ValidationError({"is_internal": _("Citizens do not write internal notes.")})


def _store_message(*, attachments: Sequence[NewAttachment], **fields: Any) -> Message:
    message = _new_message(**fields)
    message.save(force_insert=True)
    for item in attachments:
        _store_attachment(message, item)
    return message


def _new_message(
    *,
    ticket: Ticket,
    direction: str,
    channel: str,
    author_kind: str,
    by: Any,
    body: str,
    external_id: str,
    is_internal: bool = False,
    is_public: bool = False,
    in_reply_to: Message | None = None,
) -> Message:
    """A message of the conversation, not yet stored."""
    outbound_public = direction == Direction.OUTBOUND and not is_internal
    return Message(
        ticket=ticket,
        direction=direction,
        is_internal=is_internal,
        channel=channel,
        author_kind=author_kind,
        author=by,
        body=body,
        external_id=external_id,
        delivery_status=DeliveryStatus.QUEUED if outbound_public else "",
        is_public=is_public,
        in_reply_to=in_reply_to,
    )


def _store_attachment(message: Message, item: NewAttachment) -> None:
    Attachment.objects.create(
        message=message,
        file=ContentFile(item.content, name=item.name),
        original_name=item.name[:255],
        content_type=item.content_type[:100],
        size=len(item.content),
        sha256=hashlib.sha256(item.content).hexdigest(),
    )


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


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


@transaction.atomic
def open_ticket_once(
    *, user: Any, key: str, request_hash: str, **details: Any
) -> tuple[Ticket, bool]:
    """`open_ticket` under a client's idempotency key; returns (ticket, replayed).

    The key is claimed first, so a concurrent request with the same key waits for this
    one to commit and then answers with its ticket. The same key with a different
    request is refused (IdempotencyMismatch).
    """
    try:
        with transaction.atomic():
            claim = IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash)
    except IntegrityError:
        found = IdempotencyKey.objects.select_related("ticket").get(user=user, key=key)
        if found.request_hash != request_hash or found.ticket is None:
            raise IdempotencyMismatch from None
        return found.ticket, True
    ticket = open_ticket(by=user, **details)
    claim.ticket = ticket
    claim.save(update_fields=["ticket"])
    return ticket, False
