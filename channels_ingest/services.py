"""The inbox: store verified deliveries, then turn each event into messages and tickets.

Store, acknowledge, process. A webhook is read (`read_webhook`), its rows kept
(`save_deliveries`: one INSERT ... ON CONFLICT DO NOTHING, so a redelivered event changes
nothing) and only then answered 200; processing runs from the stored rows: `process_due`
drains whatever is pending, in a Celery task that the webhooks wake (coalesced) and in the
periodic sweep (Redis was down, a worker died, processing failed and waits for its retry).
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeGuard

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_ingest import mail
from channels_ingest.media import CHANNEL_ALLOWED, MediaUnavailable, download
from channels_ingest.models import ChannelAccount, Delivery
from channels_ingest.parsers import Inbound, StatusUpdate, read_event, split
from channels_ingest.signatures import is_signed
from complaints import services as complaints
from complaints.api.errors import UploadRejected
from complaints.api.uploads import check_content
from complaints.choices import AuthorKind, Channel, DeliveryStatus, Direction, Status
from complaints.fetch import FetchFailed
from complaints.models import ChannelIdentity, Message, Ticket
from complaints.numbers import normalise_number
from complaints.rows import save_fields
from complaints.selectors import message_by_external_id

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
# A ticket in one of these states takes the citizen's next message on the same channel.
THREAD_STATES = (
    Status.NEW,
    Status.TRIAGED,
    Status.IN_PROGRESS,
    Status.WAITING_CITIZEN,
    Status.WITH_PARTNER,
    Status.RESOLVED,
)
PROCESSED_FIELDS = [
    "state",
    "message",
    "processed_at",
    "last_error",
    "next_attempt_at",
    "media_pending",
]
STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


@dataclass(frozen=True)
class Answer:
    """What a webhook POST gets back: a status, and for a refusal its code and reason."""

    status: int
    code: str = ""
    detail: str = ""


ACCEPTED = Answer(200)


def webhook_account(kind: str, slug: str) -> ChannelAccount | None:
    """The active account a webhook path names."""
    return ChannelAccount.objects.filter(kind=kind, slug=slug, is_active=True).first()


def accept_webhook(account: ChannelAccount, headers: Mapping[str, str], body: bytes) -> Answer:
    """A delivery POSTed to `account`'s webhook: verified, then stored, or refused."""
    verdict = read_webhook(account, headers, body)
    if isinstance(verdict, Answer):
        return verdict
    save_deliveries(verdict)
    return ACCEPTED


def read_webhook(
    account: ChannelAccount, headers: Mapping[str, str], body: bytes
) -> list[Delivery] | Answer:
    """The rows a POSTed delivery asks to store, or the refusal to answer; no I/O.

    The order is fixed (REFERENCE 0.1): the raw bytes are authenticated before anything
    parses them, and nothing is stored unless they are. The account must have its secret.
    """
    if not is_signed(account.kind, account.webhook_secret, headers, body):
        logger.warning("%s: delivery with a missing or wrong signature refused", account)
        return Answer(403, "forbidden", "Invalid signature.")
    try:
        payload = json.loads(body)
        if b"\\u0000" in body:  # a NUL, which only a JSON escape can carry
            payload = _storable(payload)
        return delivery_rows(account, payload)
    except ValueError as exc:
        logger.error("%s: signed delivery that cannot be read: %s", account, exc)
        return Answer(400, "invalid", "Not a readable payload.")


def delivery_rows(account: ChannelAccount, payload: Any) -> list[Delivery]:
    """One unsaved row per event of a verified payload; ValueError if it is not the
    provider's format."""
    try:
        events = split(account.kind, payload)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a {account.kind} webhook payload: {exc!r}") from exc
    return [Delivery(account=account, external_id=key[:255], event=event) for key, event in events]


def _storable(value: Any) -> Any:
    """`value` with every NUL character replaced by U+FFFD: JSON allows "\\u0000" in a
    string, PostgreSQL's jsonb and text refuse it, and a delivery refused with 500 would be
    retried by the provider forever."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def save_deliveries(rows: list[Delivery]) -> None:
    """Keeps the rows not stored already, in one INSERT ... ON CONFLICT DO NOTHING.

    The statement commits by itself (or with the caller's transaction): at webhook rates
    the BEGIN and COMMIT of bulk_create's transaction were two of the four round trips of
    an acknowledgement. Once committed, a drain of the inbox is asked for (coalesced, see
    tasks.wake_drain) rather than a task per delivery.
    """
    first: dict[tuple[int, str], Delivery] = {}
    for row in rows:  # one statement cannot insert the same key twice
        first.setdefault((row.account_id, row.external_id), row)
    unique = list(first.values())
    if not unique:
        return
    from channels_ingest.tasks import wake_drain

    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} "
        f"{ops.quote_name(Delivery._meta.db_table)} ({columns}) "
        f"VALUES {', '.join([row_sql] * len(unique))} "
        f"{ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)}"
    )
    params = [
        f.get_db_prep_save(f.pre_save(row, add=True), connection) for row in unique for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    transaction.on_commit(wake_drain)


def process_deliveries(account_id: int, keys: list[str]) -> None:
    """Processes the named deliveries (tasks queued before the inbox was drained)."""
    pending = Delivery.objects.filter(
        account_id=account_id, external_id__in=keys, state=Delivery.State.PENDING
    ).values_list("pk", flat=True)
    for pk in list(pending):
        process_delivery(pk)


def process_due(limit: int = 500, batch: int = 100) -> int:
    """Processes up to `limit` pending deliveries whose turn has come, oldest first;
    returns how many.

    They are claimed `batch` at a time with SKIP LOCKED, so workers draining at once share
    the inbox instead of queueing behind each other's rows; a batch commits once, and each
    delivery in it is applied in a savepoint of its own, so one that fails is recorded as
    failed without undoing the others.
    """
    done = 0
    while done < limit:
        claimed = _process_batch(min(batch, limit - done))
        done += claimed
        if not claimed:
            break
    return done


def _process_batch(size: int) -> int:
    """Claims up to `size` due deliveries and processes them; returns how many."""
    with transaction.atomic():
        pending = _locked().filter(state=Delivery.State.PENDING)
        # New ones (never tried) first, then retries whose backoff has passed; each claim
        # is an ordered scan of its own partial index (delivery_new, delivery_retry).
        claimed = list(pending.filter(next_attempt_at__isnull=True).order_by("received_at")[:size])
        if len(claimed) < size:
            retries = pending.filter(next_attempt_at__lte=timezone.now())
            claimed += retries.order_by("next_attempt_at")[: size - len(claimed)]
        for delivery in _open_together(claimed):
            _process(delivery)
        return len(claimed)


def _open_together(claimed: list[Delivery]) -> list[Delivery]:
    """Opens together the tickets that claimed deliveries start (a new public post, a
    private message from a sender with no open ticket), with one call of each batch
    service; returns the deliveries left to process one by one, in their order.

    Anything in doubt is left to the one-by-one path, which gives the same result:
    follow-ups, edits, replies, redeliveries, a sender's second message in the group. If
    the group fails as a whole it is undone and every delivery goes one by one, so each
    records its own outcome.
    """
    records = [(d, _read(d)) for d in claimed]
    candidates = [(d, r) for d, r in records if _may_open(r)]
    # A sender with another kind of message in the group keeps the order of its messages.
    busy = {
        (r.channel, r.sender) for _d, r in records if isinstance(r, Inbound) and not _may_open(r)
    }
    candidates = [(d, r) for d, r in candidates if (r.channel, r.sender) not in busy]
    if len(candidates) < 2:
        return claimed
    try:
        with transaction.atomic():
            opened = _open_new(candidates)
    except Exception:
        logger.warning("opening %d complaints together failed", len(candidates), exc_info=True)
        return claimed
    return [d for d in claimed if d.pk not in opened]


def _read(delivery: Delivery) -> Inbound | StatusUpdate | None:
    """The stored event, or None if it cannot be read (the one-by-one path records why)."""
    if delivery.account.kind == Channel.EMAIL:
        return _new_mail(delivery)
    try:
        return read_event(delivery.account.kind, delivery.event)
    except Exception:
        return None


def _may_open(record: Inbound | StatusUpdate | None) -> TypeGuard[Inbound]:
    """A citizen's new message that answers nothing: it may open a ticket."""
    return isinstance(record, Inbound) and not record.edit and not record.reply_to


def _open_new(candidates: list[tuple[Delivery, Inbound]]) -> set[int]:
    """Opens tickets for the candidates that start one and acknowledges them; returns
    the deliveries done."""
    citizens = complaints.identify_citizens(
        [complaints.Sender(r.channel, r.sender, r.sender_name) for _d, r in candidates]
    )
    storming = _storming(
        [(c.pk, r.channel) for (_d, r), c in zip(candidates, citizens, strict=True)]
    )
    from quality import services as quality  # the quality app depends on this one

    threads = set(
        Ticket.objects.filter(
            citizen__in={c.pk for c in citizens}, status__in=THREAD_STATES
        ).values_list("citizen_id", "channel", "channel_account_id")
    )
    chosen: list[tuple[Delivery, Inbound, Any]] = []
    for (delivery, record), citizen in zip(candidates, citizens, strict=True):
        conversation = (citizen.pk, record.channel, delivery.account_id)
        if citizen.pk in storming:
            continue  # the one-by-one path says why it opens nothing
        if not record.is_public and quality.parse_answer(_body(record)) is not None:
            continue  # perhaps a late answer to a closed ticket's question: one by one
        if record.by_sender and not record.is_public and conversation in threads:
            continue  # continues a conversation (or this group opens it)
        if record.by_sender and not record.is_public:
            threads.add(conversation)
        chosen.append((delivery, record, citizen))
    # A message stored already (a redelivery) comes back with its ticket, and is
    # acknowledged only if that ticket never was.
    opened = complaints.open_conversations(
        [_new_ticket(d.account, r, citizen) for d, r, citizen in chosen]
    )
    acknowledged = set(
        Message.objects.filter(
            ticket__in=[ticket for ticket, _first in opened],
            direction=Direction.OUTBOUND,
            author_kind=AuthorKind.SYSTEM,
        ).values_list("ticket_id", flat=True)
    )
    complaints.post_replies(
        [
            (first, acknowledgement(ticket, public=first.is_public))
            for ticket, first in opened
            if ticket.pk not in acknowledged
        ],
        new_tickets=True,
    )
    _processed(
        [
            (delivery, first, bool(record.media))
            for (delivery, record, _c), (_t, first) in zip(chosen, opened, strict=True)
        ]
    )
    return {d.pk for d, _r, _c in chosen}


def _new_ticket(account: ChannelAccount, inbound: Inbound, citizen: Any) -> complaints.NewTicket:
    """The ticket a citizen's message opens on `account`."""
    location = inbound.location
    return complaints.NewTicket(
        citizen=citizen,
        channel=inbound.channel,
        subject=inbound.subject,
        body=_body(inbound),
        channel_account=account,
        external_id=inbound.external_id,
        address=location.label if location else "",
        latitude=location.latitude if location else None,
        longitude=location.longitude if location else None,
        is_public=inbound.is_public,
        attachments=inbound.attachments,
    )


def _processed(done: list[tuple[Delivery, Message, bool]]) -> None:
    """Records deliveries as processed into their messages (one UPDATE), and asks for the
    files of those that brought some."""
    if not done:
        return
    now = timezone.now()
    for delivery, message, has_media in done:
        delivery.state = Delivery.State.PROCESSED
        delivery.message = message
        delivery.processed_at = now
        delivery.last_error = ""
        delivery.next_attempt_at = None
        delivery.media_pending = has_media
    save_fields([d for d, _m, _h in done], PROCESSED_FIELDS)
    from channels_ingest.tasks import fetch_media

    for delivery, _message, has_media in done:
        if has_media:
            transaction.on_commit(partial(fetch_media.enqueue, delivery.pk))


def process_delivery(delivery_id: int) -> None:
    """Applies one stored event, once: locked, skipped if another worker has it or did it."""
    with transaction.atomic():
        delivery = _locked().filter(pk=delivery_id, state=Delivery.State.PENDING).first()
        if delivery is not None:
            _process(delivery)


def _locked() -> QuerySet[Delivery]:
    """Deliveries locked as they are read, skipping those another transaction holds.

    Only the delivery row: locking its account too (the join's default) would make every
    worker skip every other delivery of the same account while one is processed.
    """
    return Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
        "account"
    )


def _process(delivery: Delivery) -> None:
    """Applies a locked pending delivery and records the outcome on it."""
    try:
        with transaction.atomic():
            message, has_media, note = _apply(delivery)
    except Exception as exc:
        _failed(delivery, exc)
        return
    delivery.state = Delivery.State.PROCESSED if message else Delivery.State.IGNORED
    delivery.message = message if isinstance(message, Message) else None
    delivery.processed_at = timezone.now()
    delivery.last_error = note[:2000]
    delivery.next_attempt_at = None
    delivery.media_pending = has_media and delivery.message is not None
    delivery.save(update_fields=PROCESSED_FIELDS)
    if delivery.media_pending:
        from channels_ingest.tasks import fetch_media

        transaction.on_commit(partial(fetch_media.enqueue, delivery.pk))


def fetch_media(delivery_id: int) -> None:
    """Attaches a processed delivery's files to its message, once.

    A transient failure (network, provider 5xx) waits for a retry with backoff; a file
    that cannot be had (gone, refused, wrong type) is left out and its reason kept on the
    delivery, so the message stays with its "[Lampiran …]" line and nothing blocks it.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "message")
            .filter(pk=delivery_id, media_pending=True)
            .first()
        )
        if delivery is None:
            return  # done already, or another worker has it
        record = read_event(delivery.account.kind, delivery.event)
        media = record.media if isinstance(record, Inbound) else ()
        files, problems = [], []
        for item in media:
            try:
                files.append(download(delivery.account, item))
            except MediaUnavailable as exc:
                problems.append(f"{item.kind}: {exc}")
            except FetchFailed as exc:
                _media_later(delivery, exc)
                return
        if files and delivery.message is not None:
            complaints.add_attachments(message=delivery.message, attachments=files)
        if problems:
            logger.warning("delivery %s: media left out: %s", delivery, "; ".join(problems))
        delivery.media_pending = False
        delivery.next_attempt_at = None
        delivery.last_error = "; ".join(problems)[:2000]
        delivery.save(update_fields=["media_pending", "next_attempt_at", "last_error"])


def media_due(limit: int = 200) -> list[int]:
    """Deliveries whose files wait for a fetch (their task lost, or a retry due)."""
    now = timezone.now()
    due = Delivery.objects.filter(
        Q(next_attempt_at__isnull=True, processed_at__lte=now - timedelta(minutes=2))
        | Q(next_attempt_at__lte=now),
        media_pending=True,
    )
    return list(due.values_list("pk", flat=True)[:limit])


def _media_later(delivery: Delivery, exc: Exception) -> None:
    delivery.media_attempts += 1
    delivery.last_error = f"media: {type(exc).__name__}: {exc}"[:2000]
    if delivery.media_attempts >= MAX_ATTEMPTS:
        delivery.media_pending = False
        logger.error("delivery %s: media not fetched for good: %s", delivery, exc)
    else:
        delivery.next_attempt_at = timezone.now() + timedelta(
            seconds=min(30 * 2**delivery.media_attempts, 3600)
        )
        logger.warning("delivery %s: media fetch failed, retry later: %s", delivery, exc)
    delivery.save(
        update_fields=["media_attempts", "last_error", "media_pending", "next_attempt_at"]
    )


def _failed(delivery: Delivery, exc: Exception) -> None:
    delivery.attempts += 1
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = Delivery.State.FAILED
        logger.error("delivery %s failed for good: %s", delivery, delivery.last_error)
    else:
        backoff = timedelta(seconds=min(30 * 2**delivery.attempts, 3600))
        delivery.next_attempt_at = timezone.now() + backoff
        logger.warning("delivery %s failed, retry in %s: %r", delivery, backoff, exc)
    delivery.save(update_fields=["attempts", "last_error", "state", "next_attempt_at"])


def _apply(delivery: Delivery) -> tuple[Message | bool | None, bool, str]:
    """What the event did (a message, whether a status moved, or None), whether it
    brought files to fetch, and why it did nothing when it did nothing."""
    if delivery.account.kind == Channel.EMAIL:
        message, note = receive_mail(delivery)
        return message, False, note
    record = read_event(delivery.account.kind, delivery.event)
    if record is None:
        return None, False, ""
    if isinstance(record, StatusUpdate):
        return apply_status(record) > 0, False, ""
    return receive(delivery.account, record), bool(record.media) and not record.edit, ""


def receive(account: ChannelAccount, inbound: Inbound) -> Message:
    """Stores a citizen's message on its ticket (or a new one) and acknowledges it."""
    if inbound.edit and (earlier := message_by_external_id(inbound.channel, inbound.external_id)):
        Message.objects.filter(pk=earlier.pk).update(body=_body(inbound))
        return earlier
    citizen = complaints.identify_citizen(
        channel=inbound.channel, address=inbound.sender, name=inbound.sender_name
    )
    ticket = _thread(account, inbound, citizen.pk)
    if ticket is None and not inbound.is_public:
        from quality import services as quality  # the quality app depends on this one

        ticket = quality.awaiting_answer(citizen.pk, inbound.channel, _body(inbound))
    if ticket is None:
        [(ticket, message)] = complaints.open_conversations(
            [_new_ticket(account, inbound, citizen)]
        )
        if not _acknowledged(ticket):
            _acknowledge(ticket, message)
        return message
    message = complaints.post_message(
        ticket=ticket,
        body=_body(inbound),
        author_kind=AuthorKind.CITIZEN,
        channel=inbound.channel,
        external_id=inbound.external_id,
        is_public=inbound.is_public,
        in_reply_to=message_by_external_id(inbound.channel, inbound.reply_to)
        if inbound.reply_to
        else None,
    )
    if ticket.status in (Status.RESOLVED, Status.CLOSED) and not inbound.is_public:
        from quality import services as quality  # the quality app depends on this one

        quality.answer_from_channel(ticket, message.body, inbound.channel)
    return message


def _thread(account: ChannelAccount, inbound: Inbound, citizen_id: int) -> Ticket | None:
    """The open ticket this message continues: the one it replies to, else (in private
    conversations) the citizen's open ticket on this channel account."""
    parent = message_by_external_id(inbound.channel, inbound.reply_to) if inbound.reply_to else None
    if parent and parent.ticket.status in THREAD_STATES:
        ticket: Ticket = parent.ticket
        return ticket
    if inbound.is_public:
        return None  # a new public post is a new complaint
    open_tickets = Ticket.objects.filter(
        citizen_id=citizen_id,
        channel=inbound.channel,
        channel_account=account,
        status__in=THREAD_STATES,
    )
    found: Ticket | None = open_tickets.order_by("-created_at").first()
    return found


def acknowledgement(ticket: Ticket, *, public: bool) -> str:
    """The ticket number, at once, on the same channel. On public channels nothing else:
    the details continue in private."""
    if public:
        return _(
            "Terima kasih, laporan Anda kami terima dengan nomor %(number)s. "
            "Detailnya kami lanjutkan lewat pesan pribadi."
        ) % {"number": ticket.number}
    return _(
        "Terima kasih, pengaduan Anda tercatat dengan nomor %(number)s. "
        "Simpan nomor ini; balas pesan ini untuk menambah keterangan."
    ) % {"number": ticket.number}


def _acknowledge(ticket: Ticket, message: Message) -> None:
    complaints.post_message(
        ticket=ticket,
        body=acknowledgement(ticket, public=message.is_public),
        author_kind=AuthorKind.SYSTEM,
        channel=message.channel,
        is_public=message.is_public,
        in_reply_to=message,
    )


def _acknowledged(ticket: Ticket) -> bool:
    return ticket.messages.filter(
        direction=Direction.OUTBOUND, author_kind=AuthorKind.SYSTEM
    ).exists()


def apply_status(update: StatusUpdate) -> int:
    """Moves our messages' delivery status forward (failed overrides); returns how many."""
    ours = Message.objects.filter(channel=update.channel, direction=Direction.OUTBOUND)
    if update.external_ids:
        ours = ours.filter(external_id__in=update.external_ids)
    elif update.watermark and update.recipient:
        citizens = ChannelIdentity.objects.filter(
            channel=update.channel, address=update.recipient
        ).values("citizen_id")
        ours = ours.filter(ticket__citizen_id__in=citizens, created_at__lte=update.watermark)
    else:
        return 0
    if update.status == DeliveryStatus.FAILED:
        return ours.update(delivery_status=DeliveryStatus.FAILED, delivery_error=update.error)
    rank = STATUS_RANK.get(DeliveryStatus(update.status), 0)
    behind = [s for s, r in STATUS_RANK.items() if r < rank]
    return ours.filter(delivery_status__in=behind).update(delivery_status=update.status)


def _body(inbound: Inbound) -> str:
    if inbound.channel == Channel.EMAIL:
        return inbound.text  # as receive_mail writes it
    parts = [inbound.text.strip()]
    if inbound.location and not inbound.text:
        parts.append(
            _("Lokasi: %(lat)s, %(lng)s")
            % {"lat": inbound.location.latitude, "lng": inbound.location.longitude}
        )
    for media in inbound.media:
        parts.append(_("[Lampiran %(kind)s %(name)s]") % {"kind": media.kind, "name": media.name})
    return "\n".join(p for p in parts if p).strip() or _("(pesan tanpa teks)")


# --- Email ------------------------------------------------------------------------------


def receive_mail(delivery: Delivery) -> tuple[Message | None, str]:
    """Applies a stored email (REFERENCE 5.5 to 5.7); returns its message, or None and why
    nothing was stored.

    Only a person's mail opens a ticket or is acknowledged. Automatic answers and bounces
    are kept on the ticket they concern, as internal notes, and answered never; a bounce
    also marks the message it returns as failed. Newsletters and loops are only kept in
    the inbox. A sender past ADUAN_EMAIL_SENDER_LIMIT messages an hour opens no more
    tickets until the hour has passed (a mail storm), though replies still thread.
    """
    envelope = delivery.event or {}
    parsed = _parsed(delivery)
    account = delivery.account
    if existing := message_by_external_id(Channel.EMAIL, parsed.message_id):
        return existing, ""
    if parsed.kind in (mail.BULK, mail.LOOP):
        return None, f"{parsed.kind}: {parsed.reason}"
    if looped := _looped(parsed, account):
        return None, f"{mail.LOOP}: {looped}"
    rcpt_to = [*envelope.get("rcpt_to", []), *parsed.recipients]
    if parsed.kind == mail.BOUNCE:
        return _bounced(parsed, rcpt_to)
    if not parsed.sender:
        return None, "no sender address"
    citizen = complaints.identify_citizen(
        channel=Channel.EMAIL, address=parsed.sender, name=parsed.sender_name
    )
    ticket = _mail_thread(parsed, rcpt_to, citizen.pk)
    if parsed.kind == mail.AUTO_REPLY:
        if ticket is None:
            return None, f"automatic reply to no ticket: {parsed.reason}"
        return _mail_note(ticket, parsed, _("Balasan otomatis")), ""
    body, files = _mail_content(parsed)
    if ticket is not None and ticket.status in THREAD_STATES:
        message = complaints.post_message(
            ticket=ticket,
            body=body,
            author_kind=AuthorKind.CITIZEN,
            channel=Channel.EMAIL,
            external_id=parsed.message_id,
            attachments=files,
        )
        return message, ""
    if _mail_storm(citizen.pk):
        return None, _("more than %(n)d emails in an hour from %(sender)s") % {
            "n": settings.ADUAN_EMAIL_SENDER_LIMIT,
            "sender": parsed.sender,
        }
    [(ticket, message)] = complaints.open_conversations(
        [
            complaints.NewTicket(
                citizen=citizen,
                channel=Channel.EMAIL,
                subject=_mail_subject(parsed),
                body=body,
                channel_account=account,
                external_id=parsed.message_id,
                attachments=files,
            )
        ]
    )
    if not _acknowledged(ticket):
        _acknowledge(ticket, message)
    return message, ""


def _parsed(delivery: Delivery) -> mail.Mail:
    """The delivery's mail, parsed once however often it is asked for."""
    parsed: mail.Mail | None = getattr(delivery, "_parsed_mail", None)
    if parsed is None:
        envelope = delivery.event or {}
        parsed = mail.parse(bytes(delivery.raw or b""), mail_from=envelope.get("mail_from"))
        delivery._parsed_mail = parsed  # type: ignore[attr-defined]
    return parsed


def _new_mail(delivery: Delivery) -> Inbound | None:
    """A person's mail that answers nothing and names no ticket, as an `Inbound` that
    the inbox may open a ticket for together with others (`_open_together`); None for
    anything else, which `receive_mail` takes one by one."""
    try:
        parsed = _parsed(delivery)
    except Exception:
        return None  # the one-by-one path records why
    envelope = delivery.event or {}
    rcpt_to = [*envelope.get("rcpt_to", []), *parsed.recipients]
    if (
        parsed.kind != mail.HUMAN
        or _looped(parsed, delivery.account)
        or not parsed.sender
        or parsed.thread_ids
        or any(mail.plus_tag(address) for address in rcpt_to)
        or TICKET_TOKEN.search(parsed.subject)
    ):
        return None
    body, files = _mail_content(parsed)
    return Inbound(
        channel=Channel.EMAIL,
        external_id=parsed.message_id,
        sender=parsed.sender,
        sender_name=parsed.sender_name,
        text=body,
        subject=_mail_subject(parsed),
        attachments=tuple(files),
        by_sender=False,
    )


def _looped(parsed: mail.Mail, account: ChannelAccount) -> str:
    """Why the mail is our own come back ("" if it is not): it carries our X-Loop mark,
    or comes from one of our own addresses."""
    ours = {mail.base_address(a) for a in [account.address, *account.settings.get("aliases", [])]}
    if any(address in mark for mark in parsed.loop_marks for address in ours if address):
        return "X-Loop names our mailbox"
    if mail.base_address(parsed.sender) in ours:
        return f"from our own address {parsed.sender}"
    return ""


def _mail_subject(parsed: mail.Mail) -> str:
    return mail.clean_subject(without_ticket_tokens(parsed.subject))


def _mail_content(parsed: mail.Mail) -> tuple[str, list[complaints.NewAttachment]]:
    """The stored body (new text, files left out, forwarded text) and the files kept."""
    files, notes = _mail_files(parsed)
    body = "\n\n".join(p for p in [parsed.text, *notes] if p) or _("(email tanpa teks)")
    return body, files


TICKET_TOKEN = re.compile(r"\[#?\s*([A-Za-z0-9]{2,10}-\d{4}-[A-Za-z0-9]{6})\s*\]")
# Our own Message-IDs start with the ticket number (outbound._email).
OWN_ID = re.compile(r"^([A-Za-z0-9]{2,10}-\d{4}-[A-Za-z0-9]{6})\.")


def without_ticket_tokens(subject: str) -> str:
    return " ".join(TICKET_TOKEN.sub(" ", subject).split())


def _mail_thread(parsed: mail.Mail, rcpt_to: list[str], citizen_id: int) -> Ticket | None:
    """The ticket an email continues (REFERENCE 5.5), first match wins:

    1. a Message-ID it answers (In-Reply-To, then References newest first) that is one we
       stored or sent, or one of ours by its form;
    2. the ticket number in a plus address (pengaduan+ADU-2611-7K3QX9@…) or as a token
       in the subject ([ADU-2611-7K3QX9]), only if the sender is that ticket's citizen:
       a number alone must not let anyone write into someone else's case.

    Never by subject text alone.
    """
    ids = parsed.thread_ids
    if ids:
        known = Message.objects.filter(channel=Channel.EMAIL, external_id__in=ids)
        tickets = dict(known.values_list("external_id", "ticket_id"))
        for found in ids:
            if found in tickets:
                continued: Ticket | None = Ticket.objects.filter(pk=tickets[found]).first()
                return continued
        for found in ids:
            if (own := OWN_ID.match(found)) and (answered := _ticket_numbered(own.group(1))):
                return answered
    tags = [tag for address in rcpt_to if (tag := mail.plus_tag(address))]
    tokens = TICKET_TOKEN.findall(parsed.subject)
    for number in [*tags, *tokens]:
        named = _ticket_numbered(number)
        if named is not None and named.citizen_id == citizen_id:
            return named
    return None


def _ticket_numbered(text: str) -> Ticket | None:
    number = normalise_number(text)
    return Ticket.objects.filter(number=number).first() if number else None


def _bounced(parsed: mail.Mail, rcpt_to: list[str]) -> tuple[Message | None, str]:
    """A delivery status notification: the message it returns is marked failed (for a
    permanent failure) and the report kept on that ticket."""
    report = parsed.bounce
    original = report.original_ids if report else ()
    ours = (
        Message.objects.select_related("ticket")
        .filter(channel=Channel.EMAIL, direction=Direction.OUTBOUND, external_id__in=original)
        .first()
        if original
        else None
    )
    ticket = ours.ticket if ours else None
    for address in rcpt_to:
        if ticket is None and (tag := mail.plus_tag(address)):
            ticket = _ticket_numbered(tag)
    if ticket is None:
        return None, f"bounce for no message of ours: {parsed.reason}"
    if ours is not None and report is not None and report.permanent:
        Message.objects.filter(pk=ours.pk).update(
            delivery_status=DeliveryStatus.FAILED,
            delivery_error=f"{report.status} {report.diagnostic}".strip()[:2000],
        )
    return _mail_note(ticket, parsed, _("Email tidak terkirim")), ""


def _mail_note(ticket: Ticket, parsed: mail.Mail, title: str) -> Message:
    """An automatic mail kept on `ticket` as an internal note; nothing answers it and it
    changes no state."""
    lines = [f"{title} ({parsed.reason}) — {parsed.sender or '<>'}", parsed.subject]
    if parsed.bounce is not None:
        report = parsed.bounce
        lines.append(f"{report.action} {report.status} {report.recipient}: {report.diagnostic}")
    return complaints.post_message(
        ticket=ticket,
        body="\n".join([*lines, "", parsed.text]).strip(),
        author_kind=AuthorKind.SYSTEM,
        channel=Channel.EMAIL,
        external_id=parsed.message_id,
        is_internal=True,
    )


def _mail_files(parsed: mail.Mail) -> tuple[list[complaints.NewAttachment], list[str]]:
    """The attachments kept (type read from the bytes, as for uploads), and lines for
    the body: each file left out, so the agent knows it was there (the raw mail keeps
    it), and the text of forwarded messages."""
    kept: list[complaints.NewAttachment] = []
    refused: list[str] = []
    for item in parsed.files:
        if item.content_type == "message/rfc822":  # a forward: its text, for the agent
            inner = mail.parse(item.content)
            refused.append(
                _("[Pesan terusan dari %(sender)s: %(subject)s]")
                % {"sender": inner.sender or "?", "subject": inner.subject}
                + "\n"
                + inner.full_text
            )
            continue
        if len(kept) >= settings.ADUAN_EMAIL_MAX_FILES:
            refused.append(
                _("[Lampiran tidak disimpan: %(name)s — terlalu banyak lampiran]")
                % {"name": item.name}
            )
            continue
        try:
            kept.append(check_content(item.name, item.content, CHANNEL_ALLOWED))
        except UploadRejected as exc:
            refused.append(
                _("[Lampiran tidak disimpan: %(name)s — %(reason)s]")
                % {"name": item.name or item.content_type, "reason": exc.detail}
            )
    return kept, refused


def _mail_storm(citizen_id: int) -> bool:
    return bool(_storming([(citizen_id, Channel.EMAIL)]))


def _storming(senders: list[tuple[int, str]]) -> set[int]:
    """The citizens among `senders` (citizen, channel) whose email, with what they send
    in this group, reaches ADUAN_EMAIL_SENDER_LIMIT messages in the last hour."""
    coming = Counter(citizen for citizen, channel in senders if channel == Channel.EMAIL)
    if not coming:
        return set()
    limit = int(settings.ADUAN_EMAIL_SENDER_LIMIT)
    recent = (
        Message.objects.filter(
            ticket__citizen_id__in=coming,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            created_at__gte=timezone.now() - timedelta(hours=1),
        )
        .values_list("ticket__citizen_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    sent = dict(recent)
    if len(senders) == 1:  # one by one: is this message over the limit?
        return {c for c in coming if sent.get(c, 0) >= limit}
    return {c for c, n in coming.items() if sent.get(c, 0) + n > limit}
