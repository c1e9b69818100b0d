"""Several sweepers at once on PostgreSQL, and a sweeper killed mid-sweep (RELIABILITY
T-b, short form): every breached clock is escalated exactly once per level."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from complaints.models import Ticket
from escalation import services as sla
from escalation.models import Clock, ClockKind, Escalation
from tests.escalation.policies import around_the_clock
from tests.factories import CitizenFactory, TicketFactory
from tests.servers import ROOT, server_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def breached(count: int) -> tuple[Clock, ...]:
    """`count` tickets whose first-response clock fell due an hour ago."""
    policy = around_the_clock(
        resolution_minutes=600, level2_after_minutes=30, level3_after_minutes=600
    )
    calendar = policy.calendar
    citizen = CitizenFactory()
    tickets = Ticket.objects.bulk_create(TicketFactory.build(citizen=citizen) for _ in range(count))
    due = sla.timezone.now() - timedelta(hours=1)
    clocks = [
        Clock(
            ticket=t,
            kind=ClockKind.FIRST_RESPONSE,
            policy=policy,
            calendar=calendar,
            window=timedelta(minutes=60),
            started_at=due - timedelta(minutes=60),
            due_at=due,
            warn_at=due - timedelta(minutes=12),
            next_check_at=due - timedelta(minutes=12),
        )
        for t in tickets
    ]
    return tuple(Clock.objects.bulk_create(clocks))


def _sweep_on_own_connection() -> int:
    try:
        return sla.sweep(batch=25).escalations
    finally:
        connection.close()


def test_four_sweeps_at_once_escalate_each_clock_once_per_level() -> None:
    breached(300)
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: _sweep_on_own_connection(), range(4)))
    # An hour past due: level 1 (at due) and level 2 (30 minutes after) for each clock.
    assert sum(counts) == 600
    assert Escalation.objects.count() == 600
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {2}
    assert sla.sweep().escalations == 0


def test_a_sweeper_killed_mid_sweep_leaves_nothing_done_twice_or_undone() -> None:
    breached(3000)
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
    }
    env.pop("REDIS_URL", None)
    sweeper = subprocess.Popen(
        [sys.executable, "manage.py", "sla_sweep"], cwd=ROOT, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while Escalation.objects.count() < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(sweeper.pid, signal.SIGKILL)
    sweeper.wait()
    done_before = Escalation.objects.count()
    assert 0 < done_before < 6000  # it was killed halfway
    sla.sweep()
    assert Escalation.objects.count() == 6000
    assert Escalation.objects.values("clock", "level").distinct().count() == 6000
