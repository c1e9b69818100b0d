"""The citizen API over HTTP against a running server, with concurrent clients.

Creates a database `aduan_bench_api` on the PostgreSQL of DATABASE_URL with 100,000 tickets
(10,000 of them one citizen's), starts the ASGI server on it, then measures ticket
creation throughput and latency with 16 clients, and list and detail latency (p50, p99)
for the citizen with 10,000 tickets. Prints the figures.

The load comes from wrk when it is installed (`apt-get install wrk`: a C load generator that
leaves the two cores to the server and PostgreSQL), otherwise from httpx clients in this
process, which cost the server about half its CPU.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan .venv/bin/python bench/api.py

`DATABASE_URL=postgres://postgres@/aduan` reaches the same PostgreSQL by its Unix socket
(measured no faster than loopback TCP here: both within the machine's run-to-run noise).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path, and bench/email.py would
# stand for the standard library's `email`: the project root takes the folder's place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from typing import Any

import httpx

from bench.common import (
    bench_database_url,
    cpu_seconds,
    fresh_database,
    report,
    start_server,
)

BENCH_DB = "aduan_bench_api"


def prepare(url: str, total: int, mine: int, clients: int, reuse: bool) -> list[str]:
    """Fresh database with `total` tickets, `mine` of them the first citizen's; returns tokens.

    With `reuse`, an existing bench database seeded with the same figures is kept."""
    kept = fresh_database(url, keep=reuse)
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base"})
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    if kept:
        from complaints.models import Citizen
        from complaints.services import api_token_for

        citizens = Citizen.objects.filter(user__email__startswith="warga").order_by("pk")
        if citizens.count() >= clients:
            return [api_token_for(c.user) for c in citizens[:clients]]  # type: ignore[arg-type]
    return _seed(total, mine, clients)


def _seed(total: int, mine: int, clients: int) -> list[str]:
    from django.db import transaction
    from django.utils import timezone

    from complaints.models import Category, Citizen, Message, Ticket, TicketEvent
    from complaints.numbers import generate_number
    from complaints.services import api_token_for, register_citizen

    category = Category.objects.create(code="layanan-publik", name="Layanan publik")
    citizens = [
        register_citizen(
            name=f"Warga {i}", email=f"warga{i}@example.com", password="kata-sandi-panjang-123"
        )
        for i in range(clients)
    ]
    others = Citizen.objects.bulk_create(Citizen(name=f"Lain {i}") for i in range(1000))
    now, numbers = timezone.now(), set[str]()
    while len(numbers) < total:
        numbers.add(generate_number(now))
    owners = [citizens[0]] * mine + [others[i % len(others)] for i in range(total - mine)]
    with transaction.atomic():
        tickets = Ticket.objects.bulk_create(
            (
                Ticket(number=n, subject=f"Aduan {i}", citizen=o, category=category, channel="api")
                for i, (n, o) in enumerate(zip(numbers, owners, strict=True))
            ),
            batch_size=5000,
        )
        Message.objects.bulk_create(
            (
                Message(
                    ticket=t,
                    direction="inbound",
                    channel="api",
                    author_kind="citizen",
                    body="Isi aduan",
                )
                for t in tickets
            ),
            batch_size=5000,
        )
        TicketEvent.objects.bulk_create(
            (
                TicketEvent(ticket=t, kind="created", to_status="new", actor_role="citizen")
                for t in tickets
            ),
            batch_size=5000,
        )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would give a live system
    return [api_token_for(c.user) for c in citizens]  # type: ignore[arg-type]


async def load(
    base: str, tokens: list[str], requests: int, make: Any
) -> tuple[float, list[float], int]:
    """`requests` calls spread over one client per token; returns (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    per_client = requests // len(tokens)

    async def client(token: str, index: int) -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            for n in range(per_client):
                method, path, body = make(index, n)
                start = time.perf_counter()
                response = await http.request(method, path, json=body)
                latencies.append(time.perf_counter() - start)
                errors += response.status_code >= 400

    began = time.perf_counter()
    await asyncio.gather(*(client(t, i) for i, t in enumerate(tokens)))
    return time.perf_counter() - began, latencies, errors


WRK_SCRIPT = """
tokens = {tokens}
paths = {paths}
wrk.method = "{method}"
{body}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function request()
  id = (id or 0) + {threads}
  local token = tokens[(id % #tokens) + 1]
  local path = paths[math.random(#paths)]
  local headers = {{["Content-Type"] = "application/json", Authorization = "Bearer " .. token}}
  return wrk.format(nil, path, headers)
end
function done(summary, latency, requests)
  io.write(string.format("WRK %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
"""


def with_wrk(
    base: str, tokens: list[str], seconds: int, method: str, paths: list[str], body: Any
) -> tuple[int, float, float, float, int]:
    """One wrk connection per token for `seconds`: (requests, seconds, p50 s, p99 s, errors)."""
    lua = WRK_SCRIPT.format(
        tokens=_lua_list(tokens),
        paths=_lua_list(paths),
        method=method,
        body=f"wrk.body = {_lua_string(json.dumps(body))}" if body else "",
        threads=2,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        command = ["wrk", "-t2", f"-c{len(tokens)}", f"-d{seconds}s", "-s", script.name, base]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(x for x in output.splitlines() if x.startswith("WRK "))
    requests, micros, p50, p99, errors, _status = (int(v) for v in line.split()[1:])
    return requests, micros / 1e6, p50 / 1e6, p99 / 1e6, errors


def with_httpx(
    base: str, tokens: list[str], requests: int, method: str, paths: list[str], body: Any
) -> tuple[int, float, float, float, int]:
    """`requests` calls over one httpx client per token, in this process: like `with_wrk`."""
    seconds, latencies, errors = asyncio.run(
        load(base, tokens, requests, lambda i, n: (method, random.choice(paths), body))
    )
    q = statistics.quantiles(latencies, n=100)
    return len(latencies), seconds, q[49], q[98], errors


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_list(items: list[str]) -> str:
    return "{" + ",".join(_lua_string(i) for i in items) + "}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--mine", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4_000, help="per phase, with httpx")
    parser.add_argument("--seconds", type=int, default=20, help="per phase, with wrk")
    parser.add_argument("--httpx", action="store_true", help="load from httpx even with wrk")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the bench database of an earlier run"
    )
    args = parser.parse_args()
    url = bench_database_url(BENCH_DB)
    started = time.perf_counter()
    tokens = prepare(url, args.total, args.mine, args.clients, args.reuse)
    print(
        f"seeded {args.total} tickets ({args.mine} for one citizen) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    from django.db import connection

    from complaints.models import Ticket

    mine = list(
        Ticket.objects.filter(citizen__user__email="warga0@example.com").values_list(
            "number", flat=True
        )[: args.mine]
    )
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "THROTTLE_TICKET_CREATE": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "LOG_LEVEL": "WARNING",
    }
    server = start_server(env, args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    use_wrk = shutil.which("wrk") is not None and not args.httpx
    print(f"load: {'wrk' if use_wrk else 'httpx'}, {args.clients} clients, {args.workers} workers")

    def measure(name: str, tokens: list[str], method: str, paths: list[str], body: Any) -> None:
        before = cpu_seconds(server.pid)
        if use_wrk:
            figures = with_wrk(base, tokens, args.seconds, method, paths, body)
        else:
            figures = with_httpx(base, tokens, args.requests, method, paths, body)
        after = cpu_seconds(server.pid)
        report(name, *figures, cpu={part: after[part] - before[part] for part in after})

    try:
        body = {
            "category": "layanan-publik",
            "subject": "Jalan rusak",
            "description": "Lubang besar di Jl. Melati",
        }
        measure("create", tokens, "POST", ["/api/v1/tickets/"], body)
        # Thousands of new rows: autovacuum would vacuum and analyze the tables in the middle
        # of the read phases. Done here, so that the reads measure the reads.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        first = tokens[:1] * args.clients  # every client reads the citizen with 10,000 tickets
        probe = httpx.get(
            f"{base}/api/v1/tickets/", headers={"Authorization": f"Bearer {first[0]}"}
        )
        fast = probe.headers.get("server-timing", "").startswith("fast")
        print(f"list and detail answered by: {'the fast path' if fast else 'Django'}")
        measure("list", first, "GET", ["/api/v1/tickets/"], None)
        measure("detail", first, "GET", [f"/api/v1/tickets/{n}/" for n in mine], None)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
