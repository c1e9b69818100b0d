"""RELIABILITY T-b, short form: Celery workers running beat's SLA sweeps are killed with
SIGKILL (the whole worker, twice) while escalations are being written; after restarts,
every breached clock is escalated exactly once per level. And only one beat runs: a
second exits, and a beat killed with SIGKILL leaves the lock free for the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection

from escalation.models import Escalation
from tests.channels.stack import STACK_MARKS, Redis, wait_for
from tests.escalation.test_concurrent_sweeps import breached
from tests.servers import ROOT, server_database_url

pytestmark = [*STACK_MARKS, pytest.mark.django_db(transaction=True)]

CLOCKS = 2000
EXPECTED = 2 * CLOCKS  # an hour past due: levels 1 and 2 (30 minutes after) for each


def stack_env(redis: Redis) -> dict[str, str]:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": redis.url,
        "ADUAN_SLA_SWEEP_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }


CELERY = [sys.executable, "-m", "celery", "--app", "config"]


def test_workers_killed_mid_sweep_leave_every_escalation_done_exactly_once() -> None:
    breached(CLOCKS)
    redis = Redis()
    redis.start()
    env = stack_env(redis)
    celery = CELERY

    def worker() -> subprocess.Popen[bytes]:
        command = [*celery, "worker", "--concurrency", "2", "--without-heartbeat"]
        return subprocess.Popen(
            [*command, "--loglevel", "WARNING"], cwd=ROOT, env=env, start_new_session=True
        )

    schedule = f"/tmp/aduan-test-beat-{redis.port}"  # noqa: S108
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel", "WARNING", "--schedule", schedule], cwd=ROOT, env=env
    )
    running = worker()
    kills = []
    try:
        for target in (1, EXPECTED // 3):
            assert wait_for(lambda t=target: Escalation.objects.count() >= t, 60)
            os.killpg(running.pid, signal.SIGKILL)
            running.wait()
            kills.append(Escalation.objects.count())
            time.sleep(1)
            running = worker()
        assert wait_for(lambda: Escalation.objects.count() >= EXPECTED, 90)
        time.sleep(2)  # a few more sweeps: nothing may be added
    finally:
        for process in (running, beat):
            process.terminate()
        for process in (running, beat):
            process.wait(timeout=30)
        redis.stop()
    assert all(0 < done < EXPECTED for done in kills), kills  # the kills landed mid-way
    assert Escalation.objects.count() == EXPECTED
    assert Escalation.objects.values("clock", "level").distinct().count() == EXPECTED


def beat_holders() -> list[int]:
    """The server pids of the connections holding the beat lock in this database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'aduan-beat' AND datname = current_database()"
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_second_beat_exits_and_a_killed_beat_frees_the_lock(tmp_path: Any) -> None:
    redis = Redis()
    redis.start()
    env = stack_env(redis)

    def beat(name: str) -> subprocess.Popen[bytes]:
        command = [*CELERY, "beat", "--loglevel", "WARNING", "--schedule", str(tmp_path / name)]
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    first = beat("first")
    started: list[subprocess.Popen[bytes]] = [first]
    try:
        assert wait_for(lambda: len(beat_holders()) == 1, 30)
        holder = beat_holders()
        second = beat("second")
        started.append(second)
        assert second.wait(timeout=30) != 0  # it saw the lock held and left
        assert first.poll() is None and beat_holders() == holder
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        third = beat("third")
        started.append(third)
        assert wait_for(lambda: len(beat_holders()) == 1 and beat_holders() != holder, 30)
        assert third.poll() is None
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        redis.stop()
