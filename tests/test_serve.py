"""The HTTP server (`config.serve`): its processes share the connections evenly, one that
dies is replaced, and SIGTERM stops them all."""

from __future__ import annotations

import http.client
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.servers import served

CLIENTS = 16


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    """A server that needs no service (only /healthz is asked of it)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return env | {"DJANGO_SETTINGS_MODULE": "config.settings.base", "ADUAN_VAR_DIR": str(tmp_path)}


def held_by_process(port: int) -> Counter[int]:
    """The server side of the open connections to `port`, counted by the process holding them."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            if local_port == port and state == "01":  # ESTABLISHED
                inodes.add(f"socket:[{inode}]")
    held: Counter[int] = Counter()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) in inodes:
                held[int(fd.parts[2])] += 1
        except OSError:
            continue  # closed meanwhile
    return held


def server_processes(supervisor: int) -> set[int]:
    children = set()
    for task in Path(f"/proc/{supervisor}/task").glob("*/children"):
        for pid in task.read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                children.add(int(pid))
    return children


@pytest.fixture
def connections() -> Iterator[list[http.client.HTTPConnection]]:
    opened: list[http.client.HTTPConnection] = []
    yield opened
    for conn in opened:
        conn.close()


def connect_all(base: str, opened: list[http.client.HTTPConnection], count: int) -> None:
    """`count` keep-alive connections, all opened before any is used (as a load balancer's
    pool or a load test opens them), then one request on each."""
    port = urlsplit(base).port
    new = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(count)]
    opened += new
    for conn in new:
        conn.connect()
    for conn in new:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        assert response.status == 200


def test_keep_alive_connections_are_shared_evenly_between_server_processes(
    embedded_env: dict[str, str], connections: list[http.client.HTTPConnection]
) -> None:
    with served(embedded_env, workers=2) as (base, supervisor):
        connect_all(base, connections, CLIENTS)
        held = held_by_process(urlsplit(base).port or 0)

        assert set(held) == server_processes(supervisor.pid)
        assert sum(held.values()) == CLIENTS
        assert max(held.values()) - min(held.values()) <= 2, held


def test_a_server_process_that_dies_is_replaced(
    embedded_env: dict[str, str], connections: list[http.client.HTTPConnection]
) -> None:
    with served(embedded_env, workers=2) as (base, supervisor):
        port = urlsplit(base).port or 0
        victim, survivor = sorted(server_processes(supervisor.pid))
        os.kill(victim, signal.SIGKILL)
        replacements: set[int] = set()
        for _ in range(150):  # until the replacement takes connections of its own
            time.sleep(0.2)
            connect_all(base, connections, 2)
            replacements = set(held_by_process(port)) - {victim, survivor}
            if replacements:
                break
        for conn in connections:
            conn.close()
        time.sleep(0.5)  # the processes see the closes and say so
        connect_all(base, connections, CLIENTS)
        held = held_by_process(port)

        assert len(replacements) == 1
        assert set(held) == server_processes(supervisor.pid) == {survivor, *replacements}
        assert max(held.values()) - min(held.values()) <= 2, held


def test_sigterm_stops_every_server_process(embedded_env: dict[str, str]) -> None:
    with served(embedded_env, workers=2) as (_, supervisor):
        workers = server_processes(supervisor.pid)
        supervisor.terminate()
        code = supervisor.wait(timeout=15)

    assert code == 0
    assert len(workers) == 2
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_server_processes_stop_when_their_supervisor_is_killed(
    embedded_env: dict[str, str],
) -> None:
    with served(embedded_env, workers=2) as (_, supervisor):
        workers = server_processes(supervisor.pid)
        supervisor.kill()
        supervisor.wait(timeout=5)
        for _ in range(100):
            left = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
            if not left:
                break
            time.sleep(0.1)

    assert len(workers) == 2
    assert left == []
