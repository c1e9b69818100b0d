"""Web chat: conversations, their numbered events, and the bridge to tickets.

The widget starts a conversation over HTTP and gets a short-lived token for the socket
plus a long-lived resume secret. The citizen's first message opens a ticket and the
ticket number comes back at once as a system event; later messages join that ticket.
Agents' replies posted anywhere (admin, API, the socket) reach the conversation through
`relay`, called by the ticket core when it stores an outbound web chat message.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from complaints import live
from complaints import services as complaints
from complaints.choices import AuthorKind, Channel, DeliveryStatus, Status
from complaints.models import Message
from webchat.models import ChatEvent, Conversation

MAX_TEXT = 4000
REPLAY_LIMIT = 500
# A ticket in one of these states no longer takes messages: the next one opens a new ticket.
ENDED = (Status.CLOSED, Status.REJECTED, Status.MERGED)
_SIGNER_SALT = "webchat.socket"


class ChatError(Exception):
    """A request the conversation refuses; `code` is one of REFERENCE 6.4's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Started:
    conversation: Conversation
    token: str
    resume_secret: str


def group_name(public_id: str) -> str:
    return f"chat.{public_id}"


def start_conversation(*, name: str = "") -> Started:
    """A new conversation for an anonymous visitor (a citizen record of its own)."""
    public_id = "cv_" + secrets.token_urlsafe(12)
    resume_secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        citizen = complaints.identify_citizen(
            channel=Channel.WEBCHAT, address=public_id, name=name.strip()[:200]
        )
        conversation = Conversation.objects.create(
            public_id=public_id, citizen=citizen, resume_digest=_digest(resume_secret)
        )
    return Started(conversation, socket_token(conversation), resume_secret)


def socket_token(conversation: Conversation) -> str:
    return signing.TimestampSigner(salt=_SIGNER_SALT).sign(conversation.public_id)


def renew_token(public_id: str, resume_secret: str) -> str:
    """A new socket token for the holder of the conversation's resume secret."""
    conversation = Conversation.objects.filter(public_id=public_id).first()
    if conversation is None:
        raise ChatError("not_found", _("Percakapan tidak ditemukan."))
    if not hmac.compare_digest(conversation.resume_digest, _digest(resume_secret)):
        raise ChatError("not_participant", _("Kode lanjutan percakapan tidak cocok."))
    return socket_token(conversation)


def conversation_for_token(public_id: str, token: str) -> Conversation | None:
    """The conversation a valid, unexpired token opens; None otherwise."""
    try:
        signed = signing.TimestampSigner(salt=_SIGNER_SALT).unsign(
            token, max_age=settings.ADUAN_CHAT_TOKEN_SECONDS
        )
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not hmac.compare_digest(signed, public_id):
        return None
    return Conversation.objects.select_related("ticket").filter(public_id=public_id).first()


def send(
    conversation_id: int, *, text: str, client_msg_id: str, user: Any = None
) -> tuple[ChatEvent, bool]:
    """Stores a message from the citizen (no user) or an agent; returns (event, duplicate).

    The same `client_msg_id` again returns the event it stored the first time.
    """
    text = text.strip()
    if not text:
        raise ChatError("invalid_frame", _("Pesan kosong."))
    if len(text) > MAX_TEXT:
        raise ChatError("too_large", _("Pesan terlalu panjang (maksimal 4000 karakter)."))
    if not client_msg_id or len(client_msg_id) > 64:
        raise ChatError("invalid_frame", _("client_msg_id wajib diisi (maksimal 64 karakter)."))
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if earlier := conversation.events.filter(client_msg_id=client_msg_id).first():
            return earlier, True
        if conversation.closed_at is not None:
            raise ChatError("conversation_closed", _("Percakapan ini sudah ditutup."))
        external_id = f"{conversation.public_id}:{client_msg_id}"
        if user is None:
            return _from_citizen(conversation, text, client_msg_id, external_id), False
        ticket = conversation.ticket
        if ticket is None:
            raise ChatError("invalid_frame", _("Warga belum mengirim pengaduan."))
        message = _as_chat_error(
            complaints.post_message,
            ticket=ticket,
            body=text,
            author_kind=AuthorKind.AGENT,
            by=user,
            channel=Channel.WEBCHAT,
            external_id=external_id,
        )
        event = conversation.events.get(message=message)  # appended by `relay`
        return event, False


def _from_citizen(
    conversation: Conversation, text: str, client_msg_id: str, external_id: str
) -> ChatEvent:
    """The citizen's message on the conversation's ticket; the first one (or the first
    after the ticket ended) opens a ticket, and its number follows as a system event."""
    from quality import services as quality  # the quality app depends on this one

    ticket = conversation.ticket
    late = (  # a late answer to a closed ticket's question stays on that ticket
        ticket is not None
        and ticket.status == Status.CLOSED
        and quality.awaiting_answer(conversation.citizen_id, Channel.WEBCHAT, text) == ticket
    )
    opens = ticket is None or (ticket.status in ENDED and not late)
    if opens:
        ticket = _as_chat_error(
            complaints.open_ticket,
            citizen=conversation.citizen,
            channel=Channel.WEBCHAT,
            subject="",
            body=text,
            external_id=external_id,
        )
        conversation.ticket = ticket
        conversation.save(update_fields=["ticket"])
        message = Message.objects.get(channel=Channel.WEBCHAT, external_id=external_id)
    else:
        message = _as_chat_error(
            complaints.post_message,
            ticket=ticket,
            body=text,
            author_kind=AuthorKind.CITIZEN,
            channel=Channel.WEBCHAT,
            external_id=external_id,
        )
        if ticket is not None and ticket.status in (Status.RESOLVED, Status.CLOSED):
            quality.answer_from_channel(ticket, text, Channel.WEBCHAT)
    event = _append(
        conversation,
        kind=ChatEvent.Kind.MESSAGE,
        role=ChatEvent.Role.CITIZEN,
        text=text,
        client_msg_id=client_msg_id,
        message=message,
    )
    if opens and ticket is not None:  # (always set when it opens; the check is for types)
        _append(
            conversation,
            kind=ChatEvent.Kind.SYSTEM,
            role=ChatEvent.Role.SYSTEM,
            text=_(
                "Pengaduan Anda tercatat dengan nomor %(number)s. Petugas kami akan "
                "membalas di sini; simpan nomor ini untuk memantau laporan Anda."
            )
            % {"number": ticket.number},
            data={"ticket": {"number": ticket.number, "status": ticket.status}},
        )
    return event


def relay(message: Message) -> None:
    """An agent's (or the product's) reply on a web chat ticket, into its conversation.

    Called inside the transaction that stores the message; the conversation sees it
    as delivered once the event is committed.
    """
    conversation = (
        Conversation.objects.select_for_update()
        .filter(ticket_id=message.ticket_id)
        .order_by("-created_at")
        .first()
    )
    if conversation is None:
        Message.objects.filter(pk=message.pk).update(
            delivery_status=DeliveryStatus.FAILED,
            delivery_error=_("No web chat conversation for this ticket."),
        )
        return
    prefix = f"{conversation.public_id}:"
    client_msg_id = message.external_id.removeprefix(prefix) if message.external_id else ""
    author = message.author
    _append(
        conversation,
        kind=ChatEvent.Kind.MESSAGE,
        role=ChatEvent.Role.AGENT,
        sender_name=(author.get_full_name() or author.get_username()) if author else "",
        text=message.body,
        client_msg_id=client_msg_id if message.external_id.startswith(prefix) else "",
        message=message,
    )
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.DELIVERED)
    message.delivery_status = DeliveryStatus.DELIVERED


def mark_read(conversation_id: int, *, role: str, up_to_seq: int) -> int:
    """Moves a participant's read pointer forward (never back); returns the pointer."""
    field = "agent_read_seq" if role == ChatEvent.Role.AGENT else "citizen_read_seq"
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        pointer: int = min(max(getattr(conversation, field), up_to_seq), conversation.last_seq)
        if pointer != getattr(conversation, field):
            setattr(conversation, field, pointer)
            conversation.save(update_fields=[field])
            if role == ChatEvent.Role.CITIZEN and conversation.ticket_id:
                Message.objects.filter(
                    chat_events__conversation=conversation,
                    chat_events__seq__lte=pointer,
                    delivery_status=DeliveryStatus.DELIVERED,
                ).update(delivery_status=DeliveryStatus.READ)
    return pointer


def events_after(
    conversation: Conversation, after_seq: int, limit: int = REPLAY_LIMIT
) -> list[ChatEvent]:
    return list(conversation.events.filter(seq__gt=after_seq).order_by("seq")[:limit])


def events_before(conversation: Conversation, before_seq: int, limit: int) -> list[ChatEvent]:
    older = conversation.events.filter(seq__lt=before_seq).order_by("-seq")[:limit]
    return sorted(older, key=lambda event: event.seq)


def frame(event: ChatEvent, public_id: str) -> dict[str, Any]:
    """The `event` frame the widget renders (REFERENCE 6.4)."""
    data: dict[str, Any] = {
        "kind": event.kind,
        "sender": {"role": event.role, "name": event.sender_name},
        "text": event.text,
        "attachments": [],
        **event.data,
    }
    if event.client_msg_id:
        data["client_msg_id"] = event.client_msg_id
    return {
        "v": 1,
        "type": "event",
        "conv": public_id,
        "seq": event.seq,
        "ts": _iso(event.created_at),
        "data": data,
    }


def _append(conversation: Conversation, **fields: Any) -> ChatEvent:
    """The next event of a locked conversation; pushed to its sockets after commit."""
    conversation.last_seq += 1
    conversation.save(update_fields=["last_seq"])
    event = ChatEvent.objects.create(conversation=conversation, seq=conversation.last_seq, **fields)
    push = {"type": "chat.event", "frame": frame(event, conversation.public_id)}
    transaction.on_commit(partial(live.publish, [group_name(conversation.public_id)], push))
    return event


def _as_chat_error(function: Any, **kwargs: Any) -> Any:
    """Runs a ticket service, turning its refusals into chat errors the widget can show."""
    try:
        return function(**kwargs)
    except ValidationError as exc:
        raise ChatError("invalid_frame", "; ".join(exc.messages)) from exc
    except IntegrityError as exc:
        raise ChatError("internal", _("Pesan belum tersimpan; coba kirim lagi.")) from exc


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


__all__ = [
    "ChatError",
    "Started",
    "conversation_for_token",
    "events_after",
    "events_before",
    "frame",
    "group_name",
    "mark_read",
    "relay",
    "renew_token",
    "send",
    "socket_token",
    "start_conversation",
]
