"""The real ASGI server, started for tests that need one over a socket."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def server_database_url() -> str:
    """The test database, for server processes started by a test."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def asgi_server(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    """The project's server (`config.serve`) with `env` and `workers` processes; yields its
    base URL once /healthz answers."""
    with served(env, workers) as (base, _):
        yield base


@contextmanager
def served(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Like `asgi_server`, yielding the server's (supervisor's) process too."""
    port = free_port()
    env = {**env, "ADUAN_STATIC_FROM_APPS": "1"}  # this checkout's static files, as they are
    command = ["config.serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    process = subprocess.Popen(
        [sys.executable, "-m", *command, "--workers", str(workers)], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)
