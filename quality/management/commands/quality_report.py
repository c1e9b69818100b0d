"""`manage.py quality_report [--month YYYY-MM] [--output FILE]`: the month's service
quality report as one HTML page (by channel, category, agent, partner and week)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.template.loader import render_to_string
from django.utils import timezone

from quality import reports


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: last month)")
        parser.add_argument("--output", help="write the HTML here (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        first = _month(options["month"])
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        zone = timezone.get_current_timezone()
        start = datetime.combine(first, time.min, tzinfo=zone)
        end = datetime.combine(following, time.min, tzinfo=zone)
        tables = [(by, reports.report(by, start, end)) for by in reports.DIMENSIONS]
        html = render_to_string(
            "quality/monthly_report.html",
            {"month": first, "start": start, "end": end, "tables": tables, "made": timezone.now()},
        )
        if options["output"]:
            Path(options["output"]).write_text(html, encoding="utf-8")
            self.stdout.write(f"Written to {options['output']}.")
        else:
            self.stdout.write(html)


def _month(text: str | None) -> date:
    if not text:
        today = timezone.localdate()
        return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise CommandError(f"--month: {text!r} is not YYYY-MM") from exc
