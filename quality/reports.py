"""Supervisors' reports: how the service did over a period, by channel, category, agent,
partner or week.

One row per ticket opened in the period is read (three queries whatever the volume) and
every figure is computed from those rows, so that a report and a direct computation over
the same rows agree by construction and the definitions live in one place:

- first response: from opening to the first reply by a person (wall-clock minutes),
  median and 90th percentile, over tickets that had one;
- resolution: from opening to the latest resolution, median and p90, over tickets
  resolved now (a reopened ticket counts again once it is resolved again);
- SLA compliance: of tickets whose resolution fell due or was made, the share resolved by
  its due time (one unresolved past its due time counts as missed; a rejected one does
  not count);
- reopen rate: of tickets resolved at least once, the share reopened;
- CSAT: the mean timeliness score (1-5) and the share answering "solved", over ratings;
- first-contact resolution: of resolved tickets, the share resolved with at most one
  reply from a person and never reopened;
- same-answer flags: replies on these tickets flagged by the detector (any state but
  dismissed).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from complaints.choices import AuthorKind, Direction, Status
from complaints.models import Rating, Ticket
from quality.models import FlagState, SameAnswerFlag

DIMENSIONS = ("channel", "category", "agent", "partner", "week")
NONE = "—"


@dataclass(frozen=True)
class TicketRow:
    """What the report needs of one ticket."""

    channel: str
    category: str
    agent: str
    partner: str
    week: str
    first_response: float | None  # minutes
    resolution: float | None  # minutes
    sla: bool | None  # resolution due time kept (None: not due yet)
    ever_resolved: bool
    reopened: bool
    replies: int
    scores: list[int] = field(default_factory=list)
    solved: list[bool] = field(default_factory=list)
    flags: int = 0


@dataclass(frozen=True)
class ReportRow:
    key: str
    tickets: int
    first_response_median: float | None
    first_response_p90: float | None
    resolution_median: float | None
    resolution_p90: float | None
    sla_compliance: float | None
    reopen_rate: float | None
    csat: float | None
    solved_rate: float | None
    first_contact_resolution: float | None
    same_answer_flags: int

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = [
    "key",
    "tickets",
    "first_response_median",
    "first_response_p90",
    "resolution_median",
    "resolution_p90",
    "sla_compliance",
    "reopen_rate",
    "csat",
    "solved_rate",
    "first_contact_resolution",
    "same_answer_flags",
]


def percentile(values: list[float], share: float) -> float | None:
    """The `share` percentile by linear interpolation between closest ranks (as
    PostgreSQL's percentile_cont), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def ticket_rows(start: datetime, end: datetime, at: datetime | None = None) -> list[TicketRow]:
    """The rows of the tickets opened in [start, end)."""
    at = at or timezone.now()
    person = Q(
        messages__direction=Direction.OUTBOUND,
        messages__is_internal=False,
        messages__author_kind__in=[AuthorKind.AGENT, AuthorKind.PARTNER],
    )
    tickets = (
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=Status.MERGED)
        .select_related("category", "assignee", "partner")
        .annotate(replies=Count("messages", filter=person))
    )
    scores: dict[int, list[int]] = defaultdict(list)
    solved: dict[int, list[bool]] = defaultdict(list)
    for ticket_id, score, was_solved in Rating.objects.filter(
        ticket__created_at__gte=start, ticket__created_at__lt=end
    ).values_list("ticket_id", "score", "solved"):
        if score is not None:
            scores[ticket_id].append(score)
        if was_solved is not None:
            solved[ticket_id].append(was_solved)
    flags = dict(
        SameAnswerFlag.objects.filter(
            reply__ticket__created_at__gte=start, reply__ticket__created_at__lt=end
        )
        .exclude(state=FlagState.DISMISSED)
        .values_list("reply__ticket_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = []
    for t in tickets:
        resolved = t.resolved_at
        due = t.resolution_due_at
        if due is None or (t.status == Status.REJECTED and resolved is None):
            sla = None  # nothing was due, or it was stopped without a resolution
        elif resolved is not None:
            sla = resolved <= due
        else:
            sla = False if due < at else None
        local = timezone.localtime(t.created_at)
        year, week, _day = local.isocalendar()
        rows.append(
            TicketRow(
                channel=t.get_channel_display(),
                category=t.category.name if t.category else NONE,
                agent=t.assignee.get_username() if t.assignee else NONE,
                partner=t.partner.name if t.partner else NONE,
                week=f"{year}-W{week:02d}",
                first_response=_minutes(t.first_response_at, t.created_at),
                resolution=_minutes(resolved, t.created_at),
                sla=sla,
                ever_resolved=resolved is not None or t.reopen_count > 0,
                reopened=t.reopen_count > 0,
                replies=t.replies,
                scores=scores.get(t.pk, []),
                solved=solved.get(t.pk, []),
                flags=flags.get(t.pk, 0),
            )
        )
    return rows


def summarise(key: str, rows: list[TicketRow]) -> ReportRow:
    first = [r.first_response for r in rows if r.first_response is not None]
    resolution = [r.resolution for r in rows if r.resolution is not None]
    resolved = [r for r in rows if r.ever_resolved]
    scores = [s for r in rows for s in r.scores]
    return ReportRow(
        key=key,
        tickets=len(rows),
        first_response_median=percentile(first, 0.5),
        first_response_p90=percentile(first, 0.9),
        resolution_median=percentile(resolution, 0.5),
        resolution_p90=percentile(resolution, 0.9),
        sla_compliance=_share(r.sla for r in rows if r.sla is not None),
        reopen_rate=_share(r.reopened for r in resolved),
        csat=sum(scores) / len(scores) if scores else None,
        solved_rate=_share(s for r in rows for s in r.solved),
        first_contact_resolution=_share(r.replies <= 1 and not r.reopened for r in resolved),
        same_answer_flags=sum(r.flags for r in rows),
    )


def report(dimension: str, start: datetime, end: datetime) -> list[ReportRow]:
    """One row per value of `dimension` (most tickets first), then the total."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    key: Callable[[TicketRow], str] = lambda row: getattr(row, dimension)  # noqa: E731
    rows = ticket_rows(start, end)
    groups: dict[str, list[TicketRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    order = (
        sorted(groups)
        if dimension == "week"
        else sorted(groups, key=lambda k: (-len(groups[k]), k))
    )
    return [summarise(k, groups[k]) for k in order] + [summarise("Total", rows)]


def _minutes(later: datetime | None, earlier: datetime) -> float | None:
    if later is None:
        return None
    return (later - earlier) / timedelta(minutes=1)
