"""Shared fixtures. Tests needing a real PostgreSQL or Redis are skipped, with the reason
printed, only when none was configured (DATABASE_URL / REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection

from complaints.roles import AGENTS_GROUP, SUPERVISORS_GROUP, ensure_role_groups
from tests.factories import CitizenFactory, MembershipFactory, OrganisationFactory, UserFactory
from tests.servers import asgi_server, server_database_url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skips = {
        "postgres": None if on_postgres else "needs PostgreSQL: set DATABASE_URL to run it",
        "redis": None if settings.REDIS_URL else "needs Redis: set REDIS_URL to run it",
    }
    for item in items:
        for marker, reason in skips.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def _staff(group: str, username: str) -> User:
    ensure_role_groups()
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def agent(db: None) -> User:
    return _staff(AGENTS_GROUP, "agent-1")


@pytest.fixture
def other_agent(db: None) -> User:
    return _staff(AGENTS_GROUP, "agent-2")


@pytest.fixture
def supervisor(db: None) -> User:
    return _staff(SUPERVISORS_GROUP, "supervisor-1")


@pytest.fixture
def partner_org(db: None) -> Any:
    return OrganisationFactory(slug="apotek-a", name="Apotek A")


@pytest.fixture
def partner_user(partner_org: Any) -> User:
    user = UserFactory(username="partner-1")
    MembershipFactory(user=user, organisation=partner_org)
    return user


@pytest.fixture
def citizen_user(db: None) -> User:
    user = UserFactory(username="warga-1")
    CitizenFactory(user=user)
    return user


@pytest.fixture
def close_db_connection() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wraps a thread target so the thread's own database connection is closed after it."""

    def wrap(target: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return target(*args, **kwargs)
            finally:
                connection.close()

        return run

    return wrap


@pytest.fixture(autouse=True)
def _fresh_sla_calendars() -> None:
    """SLA policies and calendars are remembered per process; a test's own (rolled back
    after it) must not be seen by the next."""
    from escalation.services import forget_calendars

    forget_calendars()


@pytest.fixture
def chat_server(transactional_db: None, settings: Any) -> Iterator[str]:
    """The server, and this process on the same Redis channel layer: replies posted here
    through the service layer reach the server's sockets."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL]},
        }
    }
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "THROTTLE_CHAT_START": "10000/min",
    }
    with asgi_server(env) as base:
        yield base
