"""The inbox drain's own cost: CPU (or instructions) per WhatsApp complaint processed.

`ingest.py` measures the whole system, server and worker sharing two cores, and its
figures swing by a tenth to a quarter between runs on the same code. This bench runs the
drain alone, in this process: it stores `--deliveries` new citizens' complaints as the
webhook does, then times `process_due` over them (numbered, stored as messages,
acknowledged to a Graph API stand-in in a process of its own), and prints the CPU this
process spent per delivery, and PostgreSQL's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/drain.py

With `--callgrind` it runs itself under valgrind's callgrind, counting instructions only
while it drains: a count that repeats within about 2% whatever else the machine does,
so that a change of a few percent can be told from noise (the run takes a minute).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path, and bench/email.py would
# stand for the standard library's `email`: the project root takes the folder's place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

from bench.common import GraphStandIn, bench_database_url, cpu_seconds
from bench.ingest import delivery, prepare

BENCH_DB = "aduan_bench_drain"


def stand_in() -> None:
    """The Graph API stand-in, in this process until its standard input closes."""
    graph = GraphStandIn()
    print(graph.port, flush=True)
    sys.stdin.read()


def under_callgrind(args: argparse.Namespace) -> None:
    """Runs this bench under callgrind and prints the instructions per delivery."""
    if not shutil.which("valgrind"):
        sys.exit("--callgrind needs valgrind (apt-get install valgrind).")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            *("valgrind", "--tool=callgrind", "--instr-atstart=no"),
            f"--callgrind-out-file={out}",
            *(sys.executable, __file__, "--instrumented"),
            *("--deliveries", str(args.deliveries), "--rounds", str(args.rounds)),
            *("--history", str(args.history)),
        ]
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603
        measured = re.search(r"^measured (\d+) deliveries", run.stdout, re.MULTILINE)
        totals = re.search(r"^totals: (\d+)", out.read_text() if out.exists() else "", re.MULTILINE)
        if run.returncode or not measured or not totals:
            sys.exit(f"the run under callgrind failed:\n{run.stdout}\n{run.stderr[-3000:]}")
    per = int(totals.group(1)) / int(measured.group(1))
    print(f"instructions: {per / 1e6:.3f} M a delivery (this process: drain and sends)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--deliveries", type=int, help="complaints a round (2000; 300 with --callgrind)"
    )
    parser.add_argument("--rounds", type=int, help="measured rounds (3; 1 with --callgrind)")
    parser.add_argument(
        "--history", type=int, help="complaints drained before, not measured (2000; 300)"
    )
    parser.add_argument("--callgrind", action="store_true", help="count instructions")
    parser.add_argument("--instrumented", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--graph-stand-in", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    small = args.callgrind or args.instrumented  # callgrind runs some fifty times slower
    args.deliveries = args.deliveries or (300 if small else 2000)
    args.rounds = args.rounds or (1 if small else 3)
    if args.history is None:  # 0 is a choice: no history
        args.history = 300 if small else 2000
    if args.graph_stand_in:
        return stand_in()
    if args.callgrind:
        return under_callgrind(args)
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL: the drain pushes its live events through Redis.")
    graph = subprocess.Popen(  # noqa: S603
        [sys.executable, __file__, "--graph-stand-in"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert graph.stdout is not None
    os.environ["WHATSAPP_API_BASE"] = f"http://127.0.0.1:{graph.stdout.readline().strip()}"
    prepare(bench_database_url(BENCH_DB))
    try:
        drain(args)
    finally:
        graph.kill()


def drain(args: argparse.Namespace) -> None:
    import gc

    from django.db import connection

    from channels_ingest import services
    from channels_ingest.models import ChannelAccount
    from complaints import live

    live.serve_in_background()  # as in a Celery worker process
    account = ChannelAccount.objects.get(slug="bench")
    numbers = itertools.count()

    def store(count: int) -> None:
        rows = []
        for n in itertools.islice(numbers, count):
            rows += services.delivery_rows(account, json.loads(delivery(n)))
        services.save_deliveries(rows)

    if args.history:
        store(args.history)
        services.process_due(limit=args.history)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    gc.freeze()  # as a worker process does after start-up
    cpu, database, measured = [], [], 0
    for _round in range(args.rounds):
        store(args.deliveries)
        postgres = cpu_seconds(os.getpid())["postgres"]
        began = time.process_time()
        instrument(args, on=True)
        done = services.process_due(limit=args.deliveries)
        instrument(args, on=False)
        cpu.append((time.process_time() - began) / done)
        database.append((cpu_seconds(os.getpid())["postgres"] - postgres) / done)
        measured += done
    print(f"measured {measured} deliveries in {args.rounds} rounds")
    print(
        f"CPU: this process {1000 * statistics.median(cpu):.3f} ms a delivery (median of "
        f"rounds; {', '.join(f'{1000 * c:.3f}' for c in cpu)}), PostgreSQL "
        f"{1000 * statistics.median(database):.3f} ms"
    )


def instrument(args: argparse.Namespace, *, on: bool) -> None:
    """Counting on or off, under callgrind."""
    if args.instrumented:
        command = ["callgrind_control", "--instr=" + ("on" if on else "off"), str(os.getpid())]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603


if __name__ == "__main__":
    main()
