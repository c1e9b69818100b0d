"""The SLA sweep in Celery beat (every ADUAN_SLA_SWEEP_SECONDS)."""

from __future__ import annotations

import smtplib

import httpx
from celery import shared_task

from escalation import services


@shared_task(acks_late=True)
def sla_sweep() -> dict[str, int]:
    return services.sweep().as_dict()


@shared_task(
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException, httpx.HTTPError),
    retry_backoff=True,
    max_retries=8,
)
def send_escalation_notices(escalation_ids: list[int]) -> int:
    """Emails (and the stakeholder webhook) for escalations; retried with backoff."""
    return services.send_escalation_notices(escalation_ids)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=8,
)
def send_warning_notices(clock_ids: list[int]) -> int:
    """Warnings to the assignees before a breach, by email; retried with backoff."""
    return services.send_warning_notices(clock_ids)
