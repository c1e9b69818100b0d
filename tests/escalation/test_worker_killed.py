"""RELIABILITY T-b, short form: Celery workers running beat's SLA sweeps are killed with
SIGKILL (the whole worker, twice) while escalations are being written; after restarts,
every breached clock is escalated exactly once per level. RELIABILITY_FULL=1 adds the
other variants: a pool process killed three times, and Redis flushed with beat killed.
And only one beat runs: a
second exits, and a beat killed with SIGKILL leaves the lock free for the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
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
FULL_ONLY = pytest.mark.skipif(
    not os.environ.get("RELIABILITY_FULL"), reason="the other T-b variants: RELIABILITY_FULL=1"
)


class Stack:
    """A Redis, a beat and a worker (two pool processes) of this test's own."""

    def __init__(self, tmp_path: Any) -> None:
        self.redis = Redis()
        self.redis.start()
        self.env = stack_env(self.redis)
        self.schedule = str(tmp_path / "beat-schedule")
        self.beat = self.start_beat()
        self.worker = self.start_worker()

    def start_worker(self) -> subprocess.Popen[bytes]:
        command = [*CELERY, "worker", "--concurrency", "2", "--without-heartbeat"]
        return self._start([*command, "--loglevel", "WARNING"])

    def start_beat(self) -> subprocess.Popen[bytes]:
        return self._start([*CELERY, "beat", "--loglevel", "WARNING", "--schedule", self.schedule])

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True)

    def stop(self) -> None:
        for process in (self.worker, self.beat):
            if process.poll() is None:
                process.terminate()
        for process in (self.worker, self.beat):
            process.wait(timeout=30)
        self.redis.stop()


def kill_whole_worker(stack: Stack) -> None:
    """Variant 1: the worker's main process and its pool, SIGKILL."""
    os.killpg(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait()


def restart_worker(stack: Stack) -> None:
    time.sleep(1)
    stack.worker = stack.start_worker()


def kill_pool_child(stack: Stack) -> None:
    """Variant 2: one pool process, SIGKILL; the main process survives and replaces it."""
    children = Path(f"/proc/{stack.worker.pid}/task/{stack.worker.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    assert pids, "the worker has no pool processes"
    os.kill(pids[0], signal.SIGKILL)


def flush_redis_and_kill_beat(stack: Stack) -> None:
    """Variant 3: every queued and unacknowledged message gone (FLUSHALL), and beat killed
    (it is started again): the sweeps' state is in PostgreSQL, not in the queue."""
    stack.redis.cli("FLUSHALL")
    os.killpg(stack.beat.pid, signal.SIGKILL)
    stack.beat.wait()


def restart_beat(stack: Stack) -> None:
    time.sleep(1)
    stack.beat = stack.start_beat()


def nothing(stack: Stack) -> None:
    """The worker's main process replaces its pool process itself."""


VARIANTS = {
    "whole-worker": (kill_whole_worker, restart_worker, 2),
    "pool-child": (kill_pool_child, nothing, 3),
    "flushall-and-beat": (flush_redis_and_kill_beat, restart_beat, 2),
}


@pytest.mark.parametrize(
    "variant",
    [
        "whole-worker",
        pytest.param("pool-child", marks=FULL_ONLY),
        pytest.param("flushall-and-beat", marks=FULL_ONLY),
    ],
)
def test_workers_killed_mid_sweep_leave_every_escalation_done_exactly_once(
    variant: str, tmp_path: Any
) -> None:
    kill, restart, times = VARIANTS[variant]
    breached(CLOCKS)
    stack = Stack(tmp_path)
    kills = []
    try:
        for n in range(times):
            target = 1 + n * EXPECTED // (times + 1)
            assert wait_for(lambda t=target: Escalation.objects.count() >= t, 60)
            kill(stack)
            kills.append(Escalation.objects.count())
            restart(stack)
        assert wait_for(lambda: Escalation.objects.count() >= EXPECTED, 90)
        time.sleep(2)  # a few more sweeps: nothing may be added
    finally:
        stack.stop()
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
