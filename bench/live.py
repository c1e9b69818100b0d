"""Live updates to agents: the time from a committed ticket change to its arrival at every
connected agent socket.

Creates a database `aduan_bench_live` on the PostgreSQL of DATABASE_URL, starts the
server (two processes, one Redis channel layer on REDIS_URL), connects `--sockets` agent
WebSockets to `/ws/agents/` (spread over both processes by the kernel), then commits
`--changes` ticket changes through the service layer from this process, one every
`--every` ms, and prints p50 and p99 of commit → arrival over every (socket, change) pair,
and how many arrivals were missing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/live.py

The sockets are read on an event loop thread of this process, so the figures include
this process's own share of the two cores.
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
import statistics
import subprocess
import threading
import time
from typing import Any

from bench.common import bench_database_url, django_on, start_server

BENCH_DB = "aduan_bench_live"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--every", type=float, default=50, help="ms between two changes")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL: live updates travel on the Redis channel layer.")
    url = bench_database_url(BENCH_DB)
    django_on(url)

    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from django.test import Client

    from complaints import services
    from complaints.choices import Channel
    from complaints.models import Citizen
    from complaints.roles import AGENTS_GROUP, ensure_role_groups

    ensure_role_groups()
    agent = User.objects.create_user("bench-agent", password="bench-agent", is_staff=True)
    agent.groups.add(Group.objects.get(name=AGENTS_GROUP))
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    tickets = [
        services.open_ticket(
            citizen=Citizen.objects.create(name=f"Warga {n}"),
            channel=Channel.WHATSAPP,
            subject=f"Aduan {n}",
            body="Isi aduan.",
        )
        for n in range(args.changes)
    ]
    env = os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    server = start_server(env, args.port, args.workers)
    arrivals: dict[int, dict[int, float]] = {}  # socket -> ticket -> arrival
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def listen(n: int) -> None:
        from websockets.asyncio.client import connect

        base = f"ws://127.0.0.1:{args.port}/ws/agents/"
        mine = arrivals.setdefault(n, {})
        async with connect(
            base, origin=f"http://127.0.0.1:{args.port}", additional_headers={"Cookie": cookie}
        ) as socket:
            connected.append(n)
            if len(connected) == args.sockets:
                ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(socket.recv(), 0.5)
                except TimeoutError:
                    continue
                event: dict[str, Any] = json.loads(raw)
                if event.get("type") == "ticket.updated":
                    mine.setdefault(event["ticket"], time.monotonic())

    connected: list[int] = []

    async def run_sockets() -> None:
        await asyncio.gather(*(listen(n) for n in range(args.sockets)))

    thread = threading.Thread(target=loop.run_until_complete, args=(run_sockets(),), daemon=True)
    thread.start()
    try:
        if not ready.wait(60):
            sys.exit(f"only {len(connected)} of {args.sockets} sockets connected")
        time.sleep(1)  # every socket has joined the queue group
        committed: dict[int, float] = {}
        for ticket in tickets:
            with transaction.atomic():
                # Runs first at commit, just before the service's own live push.
                transaction.on_commit(
                    lambda t=ticket.pk: committed.__setitem__(t, time.monotonic())
                )
                services.transition_ticket(ticket=ticket, transition="triage", by=agent)
            time.sleep(args.every / 1000)
        time.sleep(2)  # the last arrivals
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        began = time.monotonic()
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
        print(f"server stopped in {time.monotonic() - began:.1f} s")
    latencies = [
        (arrived[ticket] - at) * 1000
        for arrived in arrivals.values()
        for ticket, at in committed.items()
        if ticket in arrived
    ]
    expected = args.sockets * len(committed)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{args.sockets} agent sockets on {args.workers} server processes, "
        f"{len(committed)} committed changes, one every {args.every:.0f} ms"
    )
    print(
        f"commit → socket: p50 {q[49]:.1f} ms  p99 {q[98]:.1f} ms  max {max(latencies):.1f} ms "
        f"(target: p99 ≤ 100 ms); arrived {len(latencies)} of {expected}, "
        f"missing {expected - len(latencies)}"
    )


if __name__ == "__main__":
    main()
