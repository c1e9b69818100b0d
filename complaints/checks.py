"""System checks of the database Aduan runs on (`manage.py check --database default`,
and every `migrate`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import connections


@register(Tags.database)
def autovacuum_on(
    app_configs: Sequence[Any] | None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """PostgreSQL's autovacuum keeps the planner's statistics and the partial indexes the
    inbox drain and the sweeps read. Without it, lookups that take a millisecond (a
    channel's message id, a citizen's identity, the deliveries still pending) read whole
    tables once they have grown: measured at 15-120 ms each, half the drain's rate."""
    found: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            (setting,) = cursor.fetchone()
        if setting != "on":
            found.append(
                Warning(
                    f"PostgreSQL's autovacuum is off on the database '{alias}'.",
                    hint="Turn it on (autovacuum = on in postgresql.conf), or run "
                    "VACUUM ANALYZE on a schedule: without fresh statistics the lookups "
                    "of the inbox drain and the sweeps read whole tables.",
                    id="aduan.W001",
                )
            )
    return found
