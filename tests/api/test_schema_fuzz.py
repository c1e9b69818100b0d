"""T-h (short form): Schemathesis drives every operation in /api/schema/ in-process; no
response may be a server error or break the documented schema, status codes or types.
RELIABILITY_FULL=1 raises the example count from 25 to 200 per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from complaints import services
from tests.factories import CategoryFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
EXAMPLES = 200 if os.environ.get("RELIABILITY_FULL") else 25


@pytest.fixture(autouse=True)
def keep_the_test_transaction() -> Iterator[None]:
    """As Django's test client does: a WSGI request must not close the test's connection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def bearer(db: None) -> dict[str, str]:
    CategoryFactory(code="obat-isoman")
    citizen = services.register_citizen(
        name="Fuzz", email="fuzz@example.com", password="kata-sandi-panjang-123"
    )
    services.open_ticket(citizen=citizen, channel="api", subject="Ada", body="isi", by=citizen.user)
    return {"Authorization": f"Bearer {services.api_token_for(citizen.user)}"}  # type: ignore[arg-type]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_keeps_its_contract(case: Any, bearer: dict[str, str]) -> None:
    # Schema-valid input may still break business rules the schema cannot say (password
    # strength, a phone number already registered): those 400s are not contract failures.
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])
