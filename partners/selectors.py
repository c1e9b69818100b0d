"""Reads about partners: how each performs (for supervisors)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalation.models import Clock, ClockKind
from partners.models import Assignment, Organisation, Outcome


@dataclass(frozen=True)
class Performance:
    """One organisation's record over a period: how fast it accepts, whether it keeps
    its update window, how long it takes to finish, how often it sends work back."""

    organisation: Organisation
    dispatched: int
    accepted: int
    median_to_accept: timedelta | None
    windows: int
    windows_kept: int
    median_to_done: timedelta | None
    done: int
    returned: int

    @property
    def window_compliance(self) -> float | None:
        """Share of its update windows not breached (so far; None: no window yet)."""
        return self.windows_kept / self.windows if self.windows else None


def _median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def performance(since: datetime) -> list[Performance]:
    """Every organisation's record for work dispatched since `since` (three queries)."""
    to_accept: dict[int, list[timedelta]] = defaultdict(list)
    to_done: dict[int, list[timedelta]] = defaultdict(list)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    stays = Assignment.objects.filter(dispatched_at__gte=since).values_list(
        "organisation_id", "dispatched_at", "accepted_at", "ended_at", "outcome"
    )
    for organisation, dispatched, accepted, ended, outcome in stays:
        counts[organisation]["dispatched"] += 1
        if accepted is not None:
            to_accept[organisation].append(accepted - dispatched)
        if outcome == Outcome.DONE and ended is not None:
            to_done[organisation].append(ended - dispatched)
            counts[organisation]["done"] += 1
        if outcome == Outcome.RETURNED:
            counts[organisation]["returned"] += 1
    windows = Clock.objects.filter(
        kind=ClockKind.PARTNER_UPDATE, started_at__gte=since, organisation__isnull=False
    ).values_list("organisation_id", "breached_at")
    for organisation, breached in windows:
        counts[organisation]["windows"] += 1
        counts[organisation]["kept"] += breached is None
    return [
        Performance(
            organisation=organisation,
            dispatched=counts[organisation.pk]["dispatched"],
            accepted=len(to_accept[organisation.pk]),
            median_to_accept=_median(to_accept[organisation.pk]),
            windows=counts[organisation.pk]["windows"],
            windows_kept=counts[organisation.pk]["kept"],
            median_to_done=_median(to_done[organisation.pk]),
            done=counts[organisation.pk]["done"],
            returned=counts[organisation.pk]["returned"],
        )
        for organisation in Organisation.objects.order_by("name")
    ]
