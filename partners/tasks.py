"""Partners' notices by email, after commit, retried with backoff."""

from __future__ import annotations

import smtplib

from celery import shared_task

from partners import services


@shared_task(
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=8,
)
def send_partner_notice(kind: str, pk: int) -> int:
    return services.send_partner_notice(kind, pk)
