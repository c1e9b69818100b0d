"""SLA policies for the tests: a normal-priority policy on a 24/7 calendar, so that due
times are wall-clock arithmetic."""

from __future__ import annotations

from typing import Any

from escalation.models import BusinessCalendar, SLAPolicy


def around_the_clock(**windows: Any) -> SLAPolicy:
    """The default normal-priority policy on a fresh 24/7 calendar; `windows` override
    the policy's fields."""
    calendar = BusinessCalendar.objects.create(slug="24-7", name="24/7", always_open=True)
    fields = {
        "priority": "normal",
        "first_response_minutes": 60,
        "resolution_minutes": 480,
        "partner_update_minutes": 60,
        "calendar": calendar,
    }
    return SLAPolicy.objects.create(**(fields | windows))
