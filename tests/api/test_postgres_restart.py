"""T-d (short form): PostgreSQL restarted under the API. Requests while it is down get 503
with Retry-After (never 500); a complaint acknowledged before the crash is still there, and
retrying with the same Idempotency-Key gives the same ticket, once.

Needs a PostgreSQL it can crash: it runs its own cluster (initdb, as the postgres user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.results import write_result
from tests.servers import ROOT, asgi_server, free_port

BIN = Path("/usr/lib/postgresql/15/bin")
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (BIN / "initdb").exists() or not Path(RUNUSER).exists(),
        reason="needs PostgreSQL 15 server binaries and runuser",
    ),
]


class Cluster:
    def __init__(self, base: Path) -> None:
        self.data, self.port = base / "data", free_port()
        base.chmod(0o777)
        self.pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def pg(self, tool: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [RUNUSER, "-u", "postgres", "--", str(BIN / tool), *args],
            check=check,
            capture_output=True,
            timeout=60,
        )

    def ctl(self, action: str, *args: str, check: bool = True) -> None:
        durable = "-c fsync=on -c synchronous_commit=on"
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 {durable}"
        log = ["-l", str(self.data.parent / "server.log")] if action == "start" else []
        self.pg(
            "pg_ctl", "-D", str(self.data), "-o", options, "-w", *log, *args, action, check=check
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/aduan"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="aduan-pg-"))  # not under pytest's root-only folders
    cluster = Cluster(base)
    cluster.ctl("start")
    try:
        cluster.pg(
            "createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "aduan"
        )
        yield cluster
    finally:
        cluster.ctl("stop", "-m", "immediate", check=False)  # may be down already
        shutil.rmtree(base, ignore_errors=True)


SETUP = """
from complaints.models import Category
from complaints.services import api_token_for, register_citizen
Category.objects.create(code="layanan-publik", name="Layanan publik")
citizen = register_citizen(name="Sari", email="sari@example.com", password="kata-sandi-panjang-123")
print(api_token_for(citizen.user))
"""


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[str, str]]:
    # With REDIS_URL set, the list is the event-loop fast path's (complaints.api.fastpath):
    # its connections die with the server too, and the answer must still be Django's 503.
    env = os.environ | {
        "DATABASE_URL": cluster.url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "ADUAN_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "ERROR",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    token = (
        subprocess.run(
            [*manage, "shell", "-c", SETUP],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with asgi_server(env) as base:
        yield base, token


def submit(client: httpx.Client, key: str) -> httpx.Response:
    body = {"category": "layanan-publik", "subject": "Jalan rusak", "description": "Lubang besar"}
    return client.post("/api/v1/tickets/", json=body, headers={"Idempotency-Key": key})


def submit_with_retries(client: httpx.Client, key: str) -> httpx.Response:
    for delay in (0.5, 1, 2, 4, 8):
        response = submit(client, key)
        if response.status_code != 503:
            return response
        time.sleep(delay)
    return response


def test_a_crash_loses_no_acknowledged_complaint_and_answers_503_meanwhile(
    cluster: Cluster, server: tuple[str, str]
) -> None:
    base, token = server
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    first = submit(client, "before-crash")
    assert first.status_code == 201

    cluster.ctl("stop", "-m", "immediate")  # a crash: no checkpoint, WAL replay on start
    during = [
        submit(client, "during-outage"),
        client.get("/api/v1/tickets/"),
        client.get("/readyz"),
    ]
    started = time.monotonic()
    cluster.ctl("start")
    replay = submit_with_retries(client, "before-crash")
    recovered_after = time.monotonic() - started
    retried = submit_with_retries(client, "during-outage")
    listed = client.get("/api/v1/tickets/").json()["results"]

    assert [r.status_code for r in during] == [503, 503, 503]
    assert all(
        r.headers["Retry-After"] == "5" and r.headers["Content-Type"] == "application/json"
        for r in during
    )
    assert replay.status_code == 201 and replay.json()["number"] == first.json()["number"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert retried.status_code == 201
    assert sorted(t["number"] for t in listed) == sorted(
        [first.json()["number"], retried.json()["number"]]
    )
    assert client.get("/readyz").status_code == 200
    write_result(
        "T-d-short",
        {
            "statuses_during_outage": [r.status_code for r in during],
            "first_201_after_restart_s": round(recovered_after, 2),
            "missing": 0,
            "duplicates": len(listed) - 2,
        },
    )
