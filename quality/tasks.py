"""Quality tasks: fingerprint replies as they are sent, and catch up on any missed."""

from __future__ import annotations

from celery import shared_task

from channels_ingest.tasks import Enqueueable
from quality import services


@shared_task(base=Enqueueable, acks_late=True)
def fingerprint_reply(message_id: int) -> int:
    return len(services.fingerprint_reply(message_id))


@shared_task(acks_late=True)
def sweep_fingerprints() -> int:
    """Replies whose fingerprint task was lost (broker down): done now."""
    missed = services.unfingerprinted()
    for pk in missed:
        services.fingerprint_reply(pk)
    return len(missed)


@shared_task(base=Enqueueable, acks_late=True)
def send_csat_question(survey_id: int) -> bool:
    return services.send_question(survey_id)


@shared_task(base=Enqueueable, acks_late=True, autoretry_for=(OSError,), retry_backoff=True)
def tell_assignee(rating_id: int) -> bool:
    return services.tell_assignee(rating_id)
