"""SLA sweep time as open tickets grow: 10,000, 100,000 and 1,000,000 open tickets, of
which 1,000 have a clock past due (level-1 escalations to record), the others due in the
days to come.

Creates a database `aduan_bench_sla` on the PostgreSQL of DATABASE_URL; rows are made by
INSERT ... SELECT over generate_series (a million tickets in well under a minute). For
each size the bench sweeps once (timed), then puts the due clocks back and sweeps again,
`--repeat` times, and prints the best and the median. Live pushes go out as a Celery
worker sends them (a loop thread of their own), so the time is the sweep's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aduan .venv/bin/python bench/sla.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path, and bench/email.py would
# stand for the standard library's `email`: the project root takes the folder's place.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import argparse
import statistics
import time

from bench.common import bench_database_url, django_on

BENCH_DB = "aduan_bench_sla"
DUE = 1_000

# Values for NOT NULL columns without a database default, by type.
FILLERS = {
    "character varying": "''",
    "text": "''",
    "integer": "0",
    "smallint": "0",
    "bigint": "0",
    "boolean": "false",
    "timestamp with time zone": "now()",
    "numeric": "0",
    "jsonb": "'{}'::jsonb",
    "interval": "interval '1 hour'",
}


def filled(cursor: object, table: str, given: dict[str, str]) -> tuple[str, str]:
    """(columns, expressions) for an INSERT ... SELECT into `table`: `given` and a
    filler for every other required column."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL "
        "AND is_identity = 'NO'",
        [table],
    )
    values = dict(given)
    for name, data_type in cursor.fetchall():  # type: ignore[attr-defined]
        values.setdefault(name, FILLERS[data_type])
    return ", ".join(f'"{name}"' for name in values), ", ".join(values.values())


def populate(open_tickets: int) -> None:
    """`open_tickets` new tickets with a first-response clock each; DUE of them due."""
    from django.db import connection

    from complaints.models import Citizen, Ticket
    from escalation.models import BusinessCalendar, Clock, SLAPolicy

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Ticket._meta.db_table} CASCADE")
        citizen = Citizen.objects.create(name="Bench")
        calendar, _ = BusinessCalendar.objects.get_or_create(
            slug="24-7", defaults={"name": "24/7", "always_open": True}
        )
        policy, _ = SLAPolicy.objects.get_or_create(
            category=None,
            priority="normal",
            defaults={
                "first_response_minutes": 60,
                "resolution_minutes": 600,
                "partner_update_minutes": 60,
                "calendar": calendar,
            },
        )
        columns, values = filled(
            cursor,
            Ticket._meta.db_table,
            {
                "number": "'BEN-' || g",
                "subject": "'Bench ' || g",
                "citizen_id": str(citizen.pk),
                "channel": "'web'",
                "status": "'new'",
                "priority": "'normal'",
                "version": "1",
            },
        )
        cursor.execute(
            f"INSERT INTO {Ticket._meta.db_table} ({columns}) "  # noqa: S608
            f"SELECT {values} FROM generate_series(1, %s) g",
            [open_tickets],
        )
        columns, values = filled(
            cursor,
            Clock._meta.db_table,
            {
                "ticket_id": "t.id",
                "kind": "'first_response'",
                "round": "0",
                "policy_id": str(policy.pk),
                "calendar_id": str(calendar.pk),
                "window": "interval '60 minutes'",
                "started_at": "now() - interval '2 hours'",
                "level": "0",
            },
        )
        cursor.execute(
            f"INSERT INTO {Clock._meta.db_table} ({columns}) "  # noqa: S608
            f"SELECT {values} FROM {Ticket._meta.db_table} t"
        )
        reset_due(cursor)
        cursor.execute("ANALYZE")


def reset_due(cursor: object) -> None:
    """DUE clocks past due (neither warned nor escalated), the rest due in 1 to 30 days."""
    from escalation.models import Clock, Escalation

    clocks = Clock._meta.db_table
    cursor.execute(f"DELETE FROM {Escalation._meta.db_table}")  # type: ignore[attr-defined]  # noqa: S608
    cursor.execute(  # type: ignore[attr-defined]
        f"UPDATE {clocks} SET warned_at = NULL, breached_at = NULL, level = 0, "  # noqa: S608
        "due_at = CASE WHEN ticket_id %% (SELECT count(*) FROM complaints_ticket) < %s "
        "  THEN now() - interval '1 minute' "
        "  ELSE now() + interval '1 day' + (ticket_id %% 29) * interval '1 day' END, "
        "warn_at = CASE WHEN ticket_id %% (SELECT count(*) FROM complaints_ticket) < %s "
        "  THEN now() - interval '13 minutes' "
        "  ELSE now() + interval '1 day' + (ticket_id %% 29) * interval '1 day' END",
        [DUE, DUE],
    )
    cursor.execute(f"UPDATE {clocks} SET next_check_at = warn_at")  # type: ignore[attr-defined]  # noqa: S608


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="open tickets, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    url = bench_database_url(BENCH_DB)
    django_on(url)
    from django.db import connection

    from complaints.live import serve_in_background
    from escalation import services
    from escalation.models import Escalation

    # As in a Celery worker, which runs the beat's sweeps: live pushes leave from a loop
    # thread of their own (on REDIS_URL's channel layer if set, else in memory).
    serve_in_background()

    figures: dict[int, float] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        began = time.perf_counter()
        populate(size)
        made = time.perf_counter() - began
        times = []
        for _ in range(args.repeat):
            with connection.cursor() as cursor:
                reset_due(cursor)
            started = time.perf_counter()
            result = services.sweep()
            times.append(time.perf_counter() - started)
            escalated = Escalation.objects.count()
            if result.escalations != DUE or escalated != DUE:
                sys.exit(f"expected {DUE} escalations, got {result.escalations} ({escalated} rows)")
        figures[size] = min(times)
        print(
            f"open {size:>9,}  due {DUE:,}  sweep best {min(times) * 1000:7.1f} ms  "
            f"median {statistics.median(times) * 1000:7.1f} ms  "
            f"({result.escalations} escalations; rows made in {made:.1f} s)",
            flush=True,
        )
    sizes = sorted(figures)
    if len(sizes) > 1:
        ratio = figures[sizes[-1]] / figures[sizes[0]]
        print(f"largest / smallest: {ratio:.2f}x (target: at most 1.5x, and under 1 s)")


if __name__ == "__main__":
    main()
