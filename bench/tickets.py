"""Ticket opening through the service layer: tickets/s and latency with concurrent threads.

Runs against a throw-away test database on the configured server (DATABASE_URL), so it
never touches real data:  .venv/bin/python bench/tickets.py --tickets 2000 --threads 4
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path, and bench/email.py would
# stand for the standard library's `email`: the project root takes the folder's place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import argparse
import os
import statistics
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

from django.db import connection
from django.test.utils import setup_databases, teardown_databases

from complaints.choices import Channel
from complaints.services import identify_citizen, open_ticket


def run(tickets: int, threads: int) -> dict[str, float]:
    citizens = [
        identify_citizen(channel=Channel.TELEGRAM, address=f"bench-{i}", name=f"Warga {i}")
        for i in range(threads)
    ]
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = tickets // threads

    def work(index: int) -> None:
        mine: list[float] = []
        for n in range(per_thread):
            start = time.perf_counter()
            open_ticket(
                citizen=citizens[index],
                channel=Channel.TELEGRAM,
                subject="",
                body=f"Aduan {n}",
                external_id=f"bench-{index}-{n}",
            )
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "tickets": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    connection.settings_dict["TEST"]["NAME"] = "aduan_bench"  # apart from the test suite's
    old = setup_databases(verbosity=0, interactive=False)
    try:
        figures = run(args.tickets, args.threads)
    finally:
        teardown_databases(old, verbosity=0)
    print(
        f"open_ticket on {connection.vendor}: {figures['tickets']:.0f} tickets, "
        f"{args.threads} threads: {figures['per_second']:.0f} tickets/s, "
        f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
