"""Signed WhatsApp deliveries against a running server and Celery worker.

Creates a database `aduan_bench_ingest` on the PostgreSQL of DATABASE_URL, starts the server
and a Celery worker on REDIS_URL, and a local stand-in for the Graph API that answers the
acknowledgements. Then `--clients` senders post distinct signed deliveries (each a new
citizen's complaint) for `--seconds`, and the bench prints deliveries acknowledged per
second with p50/p99 latency, and how fast they were processed end to end (numbered,
stored as messages, acknowledgement sent).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/ingest.py

Before the load, `--history` complaints go through the same server and worker, and the
tables vacuumed and analysed, as a running system's are by autovacuum: planned on the
statistics of empty tables, the lookups of the drain read whole tables (and on a server
with autovacuum off, as this machine's, they are never analysed otherwise). The figures
are of the load alone.

The load comes from wrk (`apt-get install wrk`), which leaves the cores to the system
under test; without wrk, from httpx clients in this process.
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
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from bench.common import (
    GraphStandIn,
    bench_database_url,
    cpu_seconds,
    django_on,
    report,
    settle,
    start_server,
)

BENCH_DB = "aduan_bench_ingest"
SECRET = "bench-app-secret"  # noqa: S105 - the bench's own channel account
PHONE_NUMBER_ID = "109876543210987"

# Each wrk thread sends its own slice of the prepared deliveries, each once while they
# last: thread t of T takes lines t+1, t+1+T, ... The file holds one delivery a line,
# "<signature> <body>". When the duration ends wrk drops the requests in flight: the
# server may store some of those or refuse their truncated bodies, and wrk counts none.
WRK_SCRIPT = """
local threads, counter = %(threads)d, 0
function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
end
function init(args)
  signatures, bodies = {}, {}
  for line in io.lines("%(bodies)s") do
    local space = line:find(" ", 1, true)
    signatures[#signatures + 1] = line:sub(1, space - 1)
    bodies[#bodies + 1] = line:sub(space + 1)
  end
  sent = 0
end
function request()
  local n = (first + sent * threads) %% #bodies + 1
  sent = sent + 1
  local headers = {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = signatures[n]}
  return wrk.format("POST", "/webhooks/whatsapp/bench/", headers, bodies[n])
end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("WRK %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def delivery(n: int) -> bytes:
    """One signed-to-be WhatsApp text from a citizen of its own."""
    sender = f"6281{n:09d}"
    message = {
        "from": sender,
        "id": f"wamid.BENCH{n:09d}",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": f"Aduan {n}: paket obat isoman belum diantar, mohon dicek."},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "628111900112", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Warga {n}"}, "wa_id": sender}],
        "messages": [message],
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def prepare(url: str) -> None:
    django_on(url)
    from channels_ingest.models import ChannelAccount

    ChannelAccount.objects.create(
        kind="whatsapp",
        slug="bench",
        name="Bench WhatsApp",
        address=PHONE_NUMBER_ID,
        webhook_secret=SECRET,
        access_token="bench-token",
    )


@dataclass(frozen=True)
class Load:
    """What the senders saw: requests answered, over how long, latency, failures."""

    requests: int
    seconds: float
    p50: float
    p99: float
    non_2xx: int
    socket_errors: int


def with_wrk(base: str, clients: int, seconds: int, count: int) -> Load:
    with tempfile.TemporaryDirectory() as folder:
        bodies = Path(folder) / "bodies.txt"
        with bodies.open("wb") as out:
            for n in range(count):
                body = delivery(n)
                out.write(sign(body).encode() + b" " + body + b"\n")
        script = Path(folder) / "ingest.lua"
        threads = 2
        script.write_text(WRK_SCRIPT % {"bodies": bodies, "threads": threads})
        command = [
            *("wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s"),
            *("-s", str(script), base),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(x for x in output.splitlines() if x.startswith("WRK "))
    requests, micros, p50, p99, non_2xx, socket_errors = (int(v) for v in line.split()[1:])
    if requests > count:
        print(f"warning: {requests} requests for {count} deliveries: raise --deliveries")
    return Load(requests, micros / 1e6, p50 / 1e6, p99 / 1e6, non_2xx, socket_errors)


def with_httpx(base: str, clients: int, count: int, offset: int = 0) -> Load:
    latencies: list[float] = []
    non_2xx = socket_errors = 0

    async def sender(first: int) -> None:
        nonlocal non_2xx, socket_errors
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for n in range(first, count, clients):
                body = delivery(offset + n)
                headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
                began = time.perf_counter()
                try:
                    response = await http.post(
                        "/webhooks/whatsapp/bench/", content=body, headers=headers
                    )
                except httpx.HTTPError:
                    socket_errors += 1
                    continue
                latencies.append(time.perf_counter() - began)
                non_2xx += not response.is_success

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(sender(i) for i in range(clients)))
        return time.perf_counter() - began

    seconds = asyncio.run(run())
    q = statistics.quantiles(latencies, n=100)
    return Load(len(latencies), seconds, q[49], q[98], non_2xx, socket_errors)


HISTORY_FROM = 100_000_000  # history's citizens and message ids, apart from the load's


def with_history(base: str, clients: int, count: int, wait: float, graph: GraphStandIn) -> int:
    """Sends `count` complaints from citizens of their own and waits until they are
    processed and acknowledged, then vacuums and analyses the database and forgets the
    sends; returns the deliveries processed."""
    if not count:
        return 0
    from django.db import connection

    began = time.perf_counter()
    with_httpx(base, clients, count, offset=HISTORY_FROM)
    processed, pending, queued, _elapsed = settle(began, wait)
    if pending or queued:
        sys.exit(f"history: {pending} deliveries still pending, {queued} messages queued")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    graph.bodies.clear()
    print(
        f"history: {processed} complaints in {time.perf_counter() - began:.0f} s, "
        "tables vacuumed and analysed",
        flush=True,
    )
    return processed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20, help="load duration with wrk")
    parser.add_argument(
        "--deliveries",
        type=int,
        default=60_000,
        help="distinct deliveries: prepared for wrk (it sends each at most once while they "
        "last), sent by httpx",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=20_000,
        help="complaints processed before the load (then the tables vacuumed and analysed); "
        "0 for none",
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="niceness of the Celery worker: the Procfile's, so that on a host it shares "
        "with servers, acknowledging deliveries comes before processing them",
    )
    parser.add_argument(
        "--provider-ms", type=float, default=0, help="how long the Graph API double takes to answer"
    )
    parser.add_argument(
        "--wait", type=float, default=300, help="max seconds to wait for processing"
    )
    parser.add_argument("--port", type=int, default=8096)
    parser.add_argument("--httpx", action="store_true", help="load from httpx even with wrk")
    args = parser.parse_args()
    redis = os.environ.get("REDIS_URL")
    if not redis:
        sys.exit("Set REDIS_URL: the bench measures the server with its Celery worker.")
    url = bench_database_url(BENCH_DB)
    prepare(url)
    graph = GraphStandIn(args.provider_ms / 1000)
    env = os.environ | {
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "WHATSAPP_API_BASE": f"http://127.0.0.1:{graph.port}",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(  # an empty queue: nothing left over from an earlier run
        [sys.executable, "-m", "celery", "--app", "config", "purge", "-f"],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
    )
    worker = subprocess.Popen(  # noqa: S603
        [
            *(("nice", "-n", str(args.worker_nice)) if args.worker_nice else ()),
            *(sys.executable, "-m", "celery", "--app", "config", "worker"),
            *("--concurrency", str(args.concurrency), "--loglevel", "WARNING"),
        ],
        cwd=ROOT,
        env=env,
    )
    server = start_server(env, args.port, args.workers)
    base = f"http://127.0.0.1:{args.port}"
    use_wrk = shutil.which("wrk") is not None and not args.httpx
    print(
        f"load: {'wrk' if use_wrk else 'httpx'}, {args.clients} senders, "
        f"{args.workers} server processes, {args.concurrency} Celery processes, "
        f"provider answers in {args.provider_ms:.0f} ms",
        flush=True,
    )
    from channels_ingest.models import Delivery

    try:
        history = with_history(base, args.clients, args.history, args.wait, graph)
        spent = {"worker": cpu_seconds(worker.pid), "server": cpu_seconds(server.pid)}
        began = time.perf_counter()
        if use_wrk:
            load = with_wrk(base, args.clients, args.seconds, args.deliveries)
        else:
            load = with_httpx(base, args.clients, args.deliveries)
        stored = Delivery.objects.count() - history
        load_ended = time.perf_counter() - began
        during = Delivery.objects.exclude(state=Delivery.State.PENDING).count() - history
        processed, pending, queued, elapsed = settle(began, args.wait)
        processed -= history
        worker_cpu, server_cpu = cpu_seconds(worker.pid), cpu_seconds(server.pid)
        print(f"deliveries sent {load.requests}, stored {stored}")
        report("acks", load.requests, load.seconds, load.p50, load.p99, load.non_2xx)
        print(f"non-2xx  {load.non_2xx}, socket errors {load.socket_errors}")
        print(
            f"processed {processed} in {elapsed:.1f} s from the first request "
            f"({processed / elapsed:.0f}/s end to end); still pending {pending}; "
            f"acknowledgements sent to the provider {len(graph.bodies)}, "
            f"still queued {queued}"
        )
        sends = Counter(body.get("biz_opaque_callback_data") for body in graph.sent)
        if twice := sorted(k for k, n in sends.items() if n > 1):
            print(f"  sent more than once: {len(twice)} messages ({', '.join(twice[:10])})")
        after = elapsed - load_ended
        print(
            f"  while the senders sent: {during / load_ended:.0f}/s; after they stopped: "
            f"{(processed - during) / after:.0f}/s over {after:.1f} s (sends included)"
        )
        # cpu_seconds' "server" is the process tree it is given: here the worker's, or the server's.
        per = {
            "worker": (worker_cpu["server"] - spent["worker"]["server"]) / max(processed, 1),
            "server": (server_cpu["server"] - spent["server"]["server"]) / max(load.requests, 1),
            "postgres": (worker_cpu["postgres"] - spent["worker"]["postgres"]) / max(processed, 1),
        }
        print(
            f"CPU: worker {1000 * per['worker']:.2f} ms a processed delivery, server "
            f"{1000 * per['server']:.2f} ms an acknowledgement, PostgreSQL "
            f"{1000 * per['postgres']:.2f} ms a delivery (acknowledging and processing)"
        )
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=20)
        worker.wait(timeout=60)
        graph.shutdown()


if __name__ == "__main__":
    main()
