"""Probes and failure handling: /healthz, /readyz, and 503 with Retry-After when the
database is unreachable (RELIABILITY 3.4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@pytest.mark.django_db
def test_liveness_touches_no_dependency(client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert len(queries) == 0


@pytest.mark.django_db
def test_readiness_reports_the_database_and_redis(client: Client, settings: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    expected_redis = "ok" if settings.REDIS_URL else "not configured"
    assert response.json() == {"status": "ok", "database": "ok", "redis": expected_redis}


@pytest.mark.django_db
def test_readiness_is_503_with_retry_after_when_redis_is_unreachable(
    client: Client, settings: Any
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["redis"] == "unavailable"
    assert response.json()["database"] == "ok"


@pytest.fixture
def database_down() -> Iterator[None]:
    """Points the connection at a port where no PostgreSQL listens, then restores it."""
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_requests_get_503_with_retry_after_not_500_while_the_database_is_down(
    agent: Any, database_down: None
) -> None:
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "some-session"  # loading it needs the database

    ready = client.get("/readyz")
    admin = client.get("/admin/complaints/ticket/")
    alive = client.get("/healthz")

    assert (ready.status_code, ready["Retry-After"], ready.json()["database"]) == (
        503,
        "5",
        "unavailable",
    )
    assert (admin.status_code, admin["Retry-After"]) == (503, "5")
    assert admin["Content-Type"] == "application/json"
    assert "retry" in admin.json()["detail"].lower()
    assert alive.status_code == 200
