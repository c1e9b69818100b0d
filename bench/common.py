"""What the benchmarks share: a fresh database, the server under test, the figures line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


def django_on(url: str) -> None:
    """A fresh, migrated database at `url`, and Django set up on it in this process,
    logging only warnings (a log line per request would take the cores the system under
    test needs)."""
    fresh_database(url)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def start_server(env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    """The project's server (`config.serve`) with `env`, once /healthz answers."""
    command = [
        *(sys.executable, "-m", "config.serve"),
        *("--port", str(port), "--workers", str(workers)),
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


def report(
    name: str,
    requests: int,
    seconds: float,
    p50: float,
    p99: float,
    errors: int,
    cpu: dict[str, float] | None = None,
) -> None:
    """One phase's figures; with `cpu` (seconds by `cpu_seconds`' parts), CPU ms a request."""
    line = (
        f"{name:<8} {requests:>6} requests  {requests / seconds:>7.0f}/s  "
        f"p50 {p50 * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms  errors {errors}"
    )
    if cpu and requests:
        line += "  cpu/request " + ", ".join(
            f"{part} {spent * 1000 / requests:.2f} ms" for part, spent in cpu.items()
        )
    print(line)


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU time (user and system) spent so far by the process `root` with its descendants,
    and by PostgreSQL's processes: the cost of the work, whatever else the machine does."""
    tick = os.sysconf("SC_CLK_TCK")
    spent = {"server": 0.0, "postgres": 0.0}
    tree, pending = set(), [root]
    while pending:
        pid = pending.pop()
        tree.add(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            pending += [int(child) for child in task.read_text().split()]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # it ended meanwhile
        pid, name = int(stat.parent.name), fields[0].split("(", 1)[1]
        utime, stime = (int(v) for v in fields[1].split()[11:13])
        if pid in tree:
            spent["server"] += (utime + stime) / tick
        elif name == "postgres":
            spent["postgres"] += (utime + stime) / tick
    return spent


class WhatsAppGraphDouble(BaseHTTPRequestHandler):
    """The Graph API's message endpoint on loopback: records each send, answers a new id."""

    protocol_version = "HTTP/1.1"
    # The handler writes the headers and the body separately: with Nagle's algorithm on,
    # the body waited for the client's delayed ACK, 40 ms a send (the double's, not ours).
    disable_nagle_algorithm = True
    sent: list[dict[str, Any]] = []
    latency = 0.0  # seconds each answer takes, as a provider across the internet would
    in_flight = peak = 0  # sends being answered at once, now and at most
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        time.sleep(self.latency)
        with cls.lock:
            cls.in_flight -= 1
        self.sent.append(body)
        answer = json.dumps({"messages": [{"id": f"wamid.OUT{len(self.sent)}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        """Sends are counted in `sent`; a log line per request would only slow the double."""


class Provider(ThreadingHTTPServer):
    """A listen backlog of a server's size: with the standard library's 5, a burst of new
    connections had some dropped and retried a second later."""

    request_queue_size = 1024


def start_graph_double(latency: float = 0.0) -> ThreadingHTTPServer:
    """A fresh WhatsAppGraphDouble serving on a free loopback port, in a thread, answering
    after `latency` seconds."""
    WhatsAppGraphDouble.sent = []
    WhatsAppGraphDouble.latency = latency
    WhatsAppGraphDouble.in_flight = WhatsAppGraphDouble.peak = 0
    server = Provider(("127.0.0.1", 0), WhatsAppGraphDouble)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def settle(began: float, wait: float) -> tuple[int, int, int, float]:
    """Waits (at most `wait` s) until every stored delivery is processed and every
    acknowledgement sent; returns deliveries processed, still pending, acknowledgements
    still queued, and the seconds from the first request until the last of them was done
    (to within the 0.2 s polling)."""
    from channels_ingest.models import Delivery
    from complaints.choices import DeliveryStatus, Direction
    from complaints.models import Message

    deadline = time.perf_counter() + wait
    pending = Delivery.objects.filter(state=Delivery.State.PENDING)
    queued = Message.objects.filter(
        direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.QUEUED
    )
    while (pending.exists() or queued.exists()) and time.perf_counter() < deadline:
        time.sleep(0.2)
    elapsed = time.perf_counter() - began
    done = Delivery.objects.exclude(state=Delivery.State.PENDING).count()
    return done, pending.count(), queued.count(), elapsed
