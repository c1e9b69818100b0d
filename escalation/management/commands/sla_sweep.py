"""`manage.py sla_sweep [--at ISO-8601]`: one SLA sweep, now or as if at that time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from escalation import services


class Command(BaseCommand):
    help = "Warn and escalate every SLA clock that is due (once per clock and level)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--at", help="sweep as if at this time (ISO 8601)")

    def handle(self, *args: Any, at: str | None = None, **options: Any) -> None:
        moment = timezone.now()
        if at:
            try:
                moment = datetime.fromisoformat(at)
            except ValueError as exc:
                raise CommandError(f"--at: not an ISO 8601 time: {at}") from exc
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        result = services.sweep(moment)
        self.stdout.write(
            f"swept {result.clocks} clocks at {moment.isoformat()}: "
            f"{result.warnings} warnings, {result.escalations} escalations"
        )
