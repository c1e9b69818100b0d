"""The SLA sweep in Celery beat (every ADUAN_SLA_SWEEP_SECONDS)."""

from __future__ import annotations

from celery import shared_task

from escalation import services


@shared_task(acks_late=True)
def sla_sweep() -> dict[str, int]:
    return services.sweep().as_dict()
