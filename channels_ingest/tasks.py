"""Celery tasks of the channels: drain the stored deliveries, send outbound messages."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_ingest import outbound, services
from complaints.choices import DeliveryStatus, Direction
from complaints.models import Message
from complaints.rows import save_fields
from complaints.services.common import broadcast

logger = logging.getLogger(__name__)

SEND_ATTEMPTS = 5
DRAIN_BATCH = 100  # deliveries between two looks at the drain's deadline


class Enqueueable(Task):  # type: ignore[type-arg]
    """A task that can be queued without ever failing or holding up its caller.

    The publish happens on one background thread per process: a broker that refuses
    connections fails it at once, but a hung one (SIGSTOP, a dead link) would block the
    caller — a webhook's acknowledgement — for as long as it hangs. The work itself is in
    PostgreSQL, so a publish that is lost (broker down, queue full, process exiting) only
    waits for the periodic sweep.
    """

    def enqueue(self, *args: Any) -> None:
        if self.app.conf.task_always_eager:  # embedded mode and tests: run it now
            self._publish(args)
            return
        try:
            _outbox().put_nowait((self, args))
        except queue.Full:
            logger.warning("publish queue full; the sweep will do %s%r", self.name, args)

    def _publish(self, args: tuple[Any, ...]) -> None:
        try:
            self.apply_async(args, retry=False)
        except Exception:
            logger.warning(
                "could not queue %s%r; the sweep will do it", self.name, args, exc_info=True
            )


_OUTBOX_SIZE = 10_000
_outbox_queue: queue.Queue[tuple[Enqueueable, tuple[Any, ...]]] | None = None
_outbox_lock = threading.Lock()


def _outbox() -> queue.Queue[tuple[Enqueueable, tuple[Any, ...]]]:
    """The process's publish queue and its thread, started on first use (after a fork,
    a worker process starts its own: the `pid` check)."""
    global _outbox_queue  # one per process
    with _outbox_lock:
        if _outbox_queue is None or getattr(_outbox_queue, "pid", None) != os.getpid():
            _outbox_queue = queue.Queue(_OUTBOX_SIZE)
            _outbox_queue.pid = os.getpid()  # type: ignore[attr-defined]
            threading.Thread(
                target=_drain, args=(_outbox_queue,), name="aduan-publish", daemon=True
            ).start()
        return _outbox_queue


def _drain(outbox: queue.Queue[tuple[Enqueueable, tuple[Any, ...]]]) -> None:
    while True:
        task, args = outbox.get()
        task._publish(args)


@shared_task(base=Enqueueable, acks_late=True)
def process_deliveries(account_id: int, keys: list[str]) -> None:
    services.process_deliveries(account_id, keys)


@shared_task(base=Enqueueable, acks_late=True)
def drain_deliveries() -> int:
    """Processes pending deliveries until none is due, or its time is up; returns how many.

    Several drains at once share the inbox (each claims with SKIP LOCKED). One whose time
    is up queues its successor behind the tasks queued meanwhile, so the acknowledgements
    it caused are sent during a backlog rather than after it.
    """
    deadline = time.monotonic() + settings.ADUAN_INGEST_DRAIN_SECONDS
    done = 0
    while time.monotonic() < deadline:
        batch = services.process_due(limit=DRAIN_BATCH)
        done += batch
        if batch < DRAIN_BATCH:
            return done
    drain_deliveries.enqueue()
    return done


class _Wake:
    """Asks for a drain once stored deliveries are committed, at most once per interval
    per process, instead of one task per webhook: at hundreds of webhooks a second a
    publish each costs the server and the worker more than the work they announce.

    A wake asked for while one is still to be sent is covered by it: the flag is cleared
    just before that one is queued, so it goes out after every commit that found it set,
    and the drain it starts sees those rows.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting_pid = 0  # the process whose wake is still to be sent (fork-safe)
        self._last = 0.0

    def __call__(self) -> None:
        if drain_deliveries.app.conf.task_always_eager:  # no worker to wake: drain now
            drain_deliveries.enqueue()
            return
        with self._lock:
            if self._waiting_pid == os.getpid():
                return
            self._waiting_pid = os.getpid()
            delay = self._last + settings.ADUAN_INGEST_WAKE_SECONDS - time.monotonic()
        if delay > 0:
            timer = threading.Timer(delay, self._send)
            timer.daemon = True  # a wake lost at exit only waits for the sweep
            timer.start()
        else:
            self._send()

    def _send(self) -> None:
        with self._lock:
            self._waiting_pid = 0
            self._last = time.monotonic()
        drain_deliveries.enqueue()


wake_drain = _Wake()


@shared_task(base=Enqueueable, acks_late=True)
def fetch_media(delivery_id: int) -> None:
    services.fetch_media(delivery_id)


@shared_task(base=Enqueueable, acks_late=True)
def send_message(message_id: int, attempt: int = 0) -> None:
    """Sends a queued outbound message, retrying transient failures with backoff."""
    _send([message_id], attempt)


@shared_task(base=Enqueueable, acks_late=True)
def send_messages(message_ids: list[int]) -> None:
    """Sends queued outbound messages (a group's acknowledgements) in one task."""
    _send(message_ids, 0)


SENT_FIELDS = ["external_id", "delivery_status", "delivery_error", "delivery_note"]


def _send(message_ids: list[int], attempt: int) -> None:
    """Sends the named messages still queued and not being sent by another worker."""
    with transaction.atomic():
        locked = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket__channel_account", "in_reply_to")
            .filter(pk__in=message_ids, delivery_status=DeliveryStatus.QUEUED)
            .order_by("pk")
        )
        _deliver(list(locked), attempt)


def send_now(messages: Sequence[Message]) -> None:
    """Sends outbound messages this process has just committed (a drain's
    acknowledgements) without a trip through the queue: the rows are locked as a send
    task locks them, but the messages are those in memory, not read again with their
    tickets and accounts. If it fails before recording the outcomes, a task sends the
    group (a message that went out meanwhile goes again: the trade-off of `_deliver`)."""
    try:
        with transaction.atomic():
            locked = set(
                Message.objects.select_for_update(skip_locked=True)
                .filter(pk__in=[m.pk for m in messages], delivery_status=DeliveryStatus.QUEUED)
                .values_list("pk", flat=True)
            )
            _deliver([m for m in messages if m.pk in locked], 0)
    except Exception:
        logger.warning(
            "sending %d messages failed; queued for a task", len(messages), exc_info=True
        )
        send_messages.enqueue([m.pk for m in messages])


def _deliver(messages: list[Message], attempt: int) -> None:
    """Sends `messages`, locked by the caller's transaction, and records the outcomes.

    One transaction for them all: the provider calls go out at once from the sending
    threads, and the outcomes are written by one UPDATE. At hundreds of messages a
    second, the four statements per message of a transaction each were most of a
    worker's time. The trade-off: a worker killed between the calls and the commit
    leaves its whole group queued, and the sweep sends it again (a duplicate
    acknowledgement rather than a lost one).
    """
    if not messages:
        return  # sent already, or another worker is sending them
    send = partial(_send_or_log, context=outbound.Context.of(messages))
    inline = len(messages) == 1 or send_message.app.conf.task_always_eager
    # The calls touch no database: the threads need no connection of their own.
    results = list(map(send, messages) if inline else _senders().map(send, messages))
    done = []
    for message, result in zip(messages, results, strict=True):
        if result is None:
            continue  # left queued: the sweep sends it again
        done.append(message)
        if _record(message, result, attempt):  # backoff 2, 4, 8, 16, 32 s
            transaction.on_commit(partial(_retry_later, message.pk, attempt + 1))
    try:
        with transaction.atomic():
            save_fields(done, SENT_FIELDS)
    except IntegrityError:  # an id the provider gave is another message's already
        for message in done:
            _save_outcome(message)
    for message in done:  # delivery status is shown on the ticket, not in the queue
        broadcast(message.ticket, "message.updated", queue=False, message=message.pk)


def _record(message: Message, result: outbound.Sent, attempt: int) -> bool:
    """Writes the outcome of a send on `message` (not saved); whether to retry it."""
    message.delivery_error = result.error
    message.delivery_note = result.note
    if result.ok:
        message.external_id = result.external_id
        message.delivery_status = DeliveryStatus.SENT
        return False
    if result.retryable and attempt < SEND_ATTEMPTS:
        return True
    message.delivery_status = DeliveryStatus.FAILED
    logger.warning("message %s not sent: %s", message.pk, result.error)
    return False


def _save_outcome(message: Message) -> None:
    """Writes one message's send outcome; if the provider's id for it is already another
    message's, the message is recorded as sent without that id (its status callbacks
    cannot be told apart) rather than left queued to be sent again."""
    try:
        with transaction.atomic():
            message.save(update_fields=SENT_FIELDS)
    except IntegrityError:
        logger.warning(
            "message %s: provider id %r is another message's", message.pk, message.external_id
        )
        clash = f"Sent; the provider's id {message.external_id} is another message's."
        message.delivery_note = " ".join(filter(None, [message.delivery_note, clash]))[:500]
        message.external_id = ""
        message.save(update_fields=SENT_FIELDS)


def _retry_later(message_id: int, attempt: int) -> None:
    try:
        send_message.apply_async((message_id, attempt), countdown=2**attempt)
    except Exception:
        logger.warning("could not queue a retry of message %s", message_id, exc_info=True)


_sender_pools: dict[int, ThreadPoolExecutor] = {}
_sender_pools_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The process's sending threads: a provider answers in tens or hundreds of
    milliseconds, and one call at a time would cap a worker process at a few sends a
    second (a forked process starts its own threads)."""
    pid = os.getpid()
    with _sender_pools_lock:
        if pid not in _sender_pools:
            _sender_pools[pid] = ThreadPoolExecutor(
                settings.ADUAN_SEND_THREADS, thread_name_prefix="aduan-send"
            )
        return _sender_pools[pid]


def _send_or_log(message: Message, *, context: outbound.Context) -> outbound.Sent | None:
    """The provider's answer to `message`, or None if the call failed unexpectedly
    (logged; the others still go)."""
    try:
        return outbound.send(message, context)
    except Exception:
        logger.exception("message %s: send failed", message.pk)
        return None


@shared_task(acks_late=True)
def sweep_channels() -> dict[str, int]:
    """Picks up what the queue lost: pending deliveries, and messages queued for a while."""
    processed = services.process_due()
    stale = timezone.now() - timedelta(minutes=2)
    queued = Message.objects.filter(
        direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.QUEUED, created_at__lte=stale
    ).values_list("pk", flat=True)[:500]
    for pk in queued:
        send_message.apply((pk,))
    media = services.media_due()
    for pk in media:
        services.fetch_media(pk)
    return {"deliveries": processed, "resent": len(queued), "media": len(media)}


@shared_task(acks_late=True)
def poll_mailboxes() -> dict[str, int]:
    """Stores what arrived in the IMAP mailboxes; the inbox drain processes it."""
    from channels_ingest import mailin

    return mailin.poll_mailboxes()
