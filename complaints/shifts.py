"""The agents' shifts: fixed local start times (ADUAN_SHIFT_STARTS), each shift lasting
until the next one starts."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


def shift_starts() -> list[time]:
    try:
        starts = sorted({time.fromisoformat(s.strip()) for s in settings.ADUAN_SHIFT_STARTS})
    except ValueError as exc:
        raise ImproperlyConfigured(f"ADUAN_SHIFT_STARTS: {exc}") from exc
    if not starts:
        raise ImproperlyConfigured("ADUAN_SHIFT_STARTS names no start time")
    return starts


def shift_at(at: datetime) -> tuple[datetime, datetime]:
    """The shift running at `at`: its start and end, aware, in local time."""
    local = timezone.localtime(at)
    zone = local.tzinfo
    candidates = [
        datetime.combine(local.date() + timedelta(days=day), start, tzinfo=zone)
        for day in (-1, 0, 1)
        for start in shift_starts()
    ]
    begun = max(c for c in candidates if c <= local)
    return begun, min(c for c in candidates if c > begun)
