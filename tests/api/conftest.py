from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from complaints.services import api_token_for, register_citizen
from tests.factories import CategoryFactory


@pytest.fixture(autouse=True)
def fresh_throttles() -> Iterator[None]:
    cache.clear()  # throttle and lockout windows start empty in every test
    yield
    cache.clear()


@pytest.fixture
def category(db: None) -> Any:
    return CategoryFactory(code="obat-isoman", name="Pengiriman obat isoman")


def citizen_client(name: str, email: str) -> APIClient:
    citizen = register_citizen(name=name, email=email, password="kata-sandi-panjang-123")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(citizen.user)}")
    client.citizen = citizen  # type: ignore[attr-defined]
    return client


@pytest.fixture
def sari(db: None) -> APIClient:
    return citizen_client("Sari", "sari@example.com")


@pytest.fixture
def budi(db: None) -> APIClient:
    return citizen_client("Budi", "budi@example.com")


def complaint(**overrides: Any) -> dict[str, Any]:
    return {
        "category": "obat-isoman",
        "subject": "Obat isoman belum datang",
        "description": "Sudah 24 jam status masih menunggu konfirmasi.",
        **overrides,
    }
