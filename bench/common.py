"""What the benchmarks share: a fresh database, the server under test, the figures line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def bench_database_url(name: str) -> str:
    """DATABASE_URL's server with the database `name` instead (the bench's own)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the bench creates its own database).")
    return base.rsplit("/", 1)[0] + "/" + name


def fresh_database(url: str, keep: bool = False) -> bool:
    """(Re)creates the database of `url` and migrates it; returns whether it was kept."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        kept = bool(keep and exists)
        if not kept:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    env = os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return kept


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn serving the project with `env`, once /healthz answers."""
    command = [
        *(sys.executable, "-m", "uvicorn", "config.asgi:application"),
        *("--port", str(port), "--workers", str(workers), "--lifespan", "off"),
        *("--no-access-log", "--log-level", "warning"),
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    sys.exit("the server did not start")


def report(name: str, requests: int, seconds: float, p50: float, p99: float, errors: int) -> None:
    print(
        f"{name:<8} {requests:>6} requests  {requests / seconds:>7.0f}/s  "
        f"p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  errors {errors}"
    )
