"""Celery tasks of the ticket core: thin wrappers that call services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from complaints import services


@shared_task(name="complaints.tasks.close_resolved_tickets")
def close_resolved_tickets() -> int:
    """Closes resolved tickets nobody reopened within ADUAN_AUTO_CLOSE_DAYS."""
    after = timedelta(days=settings.ADUAN_AUTO_CLOSE_DAYS)
    return services.close_resolved_tickets(now=timezone.now(), after=after)
