"""A Celery worker process keeps its PostgreSQL connection from task to task: Celery's
Django fix-up would close it after every task, and each new connection is a new
PostgreSQL backend to start and warm up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from django.db import connection

from channels_ingest.models import Delivery
from config.celery import WORKER_CONNECTION_NAME
from tests.channels.stack import (
    STACK_MARKS,
    full_stack,
    provider,
    wait_for,
    whatsapp_headers,
    whatsapp_text,
)

pytestmark = STACK_MARKS
__all__ = ["provider"]  # the provider API double, used as a fixture here
DELIVERIES = 4


def worker_connections() -> list[datetime]:
    """When each of the worker's connections to this database began."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_CONNECTION_NAME],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_keeps_its_connection_between_tasks(accounts: Any, provider: str) -> None:
    processed = Delivery.objects.filter(state=Delivery.State.PROCESSED)
    with (
        full_stack(provider, beat=False) as stack,
        httpx.Client(base_url=stack.base, timeout=10) as http,
    ):
        for n in range(DELIVERIES):  # one after the other: a drain and a send each
            body = whatsapp_text(n)
            answer = http.post(
                "/webhooks/whatsapp/uji/", content=body, headers=whatsapp_headers(body)
            )
            assert answer.status_code == 200
            assert wait_for(lambda n=n: processed.count() == n + 1, 30)
        first = processed.order_by("processed_at").first()
        assert first is not None and first.processed_at is not None
        kept = worker_connections()

    assert len(kept) == 1  # one worker process, one connection, still open
    assert kept[0] < first.processed_at  # opened before the first task, not after the last
