"""Celery tasks of the channels: process stored deliveries, send outbound messages."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.db import transaction
from django.utils import timezone

from channels_ingest import outbound, services
from complaints.choices import DeliveryStatus, Direction
from complaints.models import Message
from complaints.services.common import broadcast

logger = logging.getLogger(__name__)

SEND_ATTEMPTS = 5


class Enqueueable(Task):  # type: ignore[type-arg]
    """A task that can be queued without ever failing its caller: when the broker cannot
    be reached the work is still in PostgreSQL, and the periodic sweep does it."""

    def enqueue(self, *args: Any) -> None:
        try:
            self.apply_async(args, retry=False)
        except Exception:
            logger.warning(
                "could not queue %s%r; the sweep will do it", self.name, args, exc_info=True
            )


@shared_task(base=Enqueueable, acks_late=True)
def process_deliveries(account_id: int, keys: list[str]) -> None:
    services.process_deliveries(account_id, keys)


@shared_task(base=Enqueueable, acks_late=True)
def fetch_media(delivery_id: int) -> None:
    services.fetch_media(delivery_id)


@shared_task(base=Enqueueable, acks_late=True)
def send_message(message_id: int, attempt: int = 0) -> None:
    """Sends a queued outbound message, retrying transient failures with backoff.

    The row stays locked during the call, so two workers never send the same message."""
    retry = False
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket__channel_account", "in_reply_to")
            .filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED)
            .first()
        )
        if message is None:
            return  # sent already, or another worker is sending it
        result = outbound.send(message)
        message.delivery_error = result.error
        message.delivery_note = result.note
        if result.ok:
            message.external_id = result.external_id
            message.delivery_status = DeliveryStatus.SENT
        elif result.retryable and attempt < SEND_ATTEMPTS:
            retry = True
        else:
            message.delivery_status = DeliveryStatus.FAILED
            logger.warning("message %s not sent: %s", message.pk, result.error)
        message.save(
            update_fields=["external_id", "delivery_status", "delivery_error", "delivery_note"]
        )
        broadcast(message.ticket, "message.updated", message=message.pk)
    if retry:  # backoff 2, 4, 8, 16, 32 s; if the queue is gone, the sweep resends it
        try:
            send_message.apply_async((message_id, attempt + 1), countdown=2 ** (attempt + 1))
        except Exception:
            logger.warning("could not queue a retry of message %s", message_id, exc_info=True)


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
