"""What the benchmarks share: a fresh database, the server under test, the figures line."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import socket
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


class GraphStandIn:
    """The Graph API's message endpoint for throughput benches: keep-alive HTTP/1.1 POSTs
    answered with a new message id by one asyncio loop in a thread of its own, each body
    kept as it came (`bodies`; `sent` reads them).

    A provider is across the internet and takes nothing from the cores of the system it
    answers. The threaded `WhatsAppGraphDouble` (a thread per connection, the standard
    library's request parsing) took a sixth of a core at 600 sends a second from the two
    the system under test has; asyncio's streams with a JSON parse of each body took 0.13
    ms of CPU a send. This stand-in is a bare protocol that only finds each body's end.
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.bodies: list[bytes] = []
        self.latency = latency
        self.port = 0
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("the Graph API stand-in did not start")

    @property
    def sent(self) -> list[dict[str, Any]]:
        """The bodies of the calls answered so far, parsed."""
        return [json.loads(body) for body in list(self.bodies)]

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _GraphCalls(self), "127.0.0.1", 0, backlog=1024)
        )
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    def answer(self, body: bytes) -> bytes:
        self.bodies.append(body)
        answer = b'{"messages":[{"id":"wamid.OUT%d"}]}' % next(self._ids)
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
        )

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


class _GraphCalls(asyncio.Protocol):
    """One connection to the stand-in: requests one after another, each answered."""

    def __init__(self, stand_in: GraphStandIn) -> None:
        self.stand_in = stand_in
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = _CONTENT_LENGTH.search(self.buffer, 0, end + 2)
            size = int(length.group(1)) if length else 0
            if len(self.buffer) < end + 4 + size:
                return  # the rest of the body is on its way
            body, self.buffer = self.buffer[end + 4 : end + 4 + size], self.buffer[end + 4 + size :]
            reply = self.stand_in.answer(body)
            if self.stand_in.latency:
                asyncio.get_running_loop().call_later(
                    self.stand_in.latency, self.transport.write, reply
                )
            else:
                self.transport.write(reply)


def settle(began: float, wait: float) -> tuple[int, int, int, float]:
    """Waits (at most `wait` s) until every stored delivery is processed and every
    acknowledgement sent; returns deliveries processed, still pending, acknowledgements
    still queued, and the seconds from the first request until the last of them was done
    (to within the 0.2 s polling).

    Each look reads the partial indexes the inbox drain and the channels' sweep read (new
    deliveries, retries, queued messages): a scan of the tables five times a second
    would take a share of the cores the system under test needs."""
    from channels_ingest.models import Delivery
    from complaints.choices import DeliveryStatus
    from complaints.models import Message

    deadline = time.perf_counter() + wait
    pending = Delivery.objects.filter(state=Delivery.State.PENDING)
    new, retries = (
        pending.filter(next_attempt_at__isnull=True),
        pending.filter(next_attempt_at__isnull=False),
    )
    queued = Message.objects.filter(delivery_status=DeliveryStatus.QUEUED)
    while (new.exists() or retries.exists() or queued.exists()) and time.perf_counter() < deadline:
        time.sleep(0.2)
    elapsed = time.perf_counter() - began
    done = Delivery.objects.exclude(state=Delivery.State.PENDING).count()
    return done, pending.count(), queued.count(), elapsed
