"""Supervisors' reports on a generated history: every figure equals a direct computation
over the same tickets; the admin page, its CSV and the monthly report show them."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from complaints.models import Category, Message, Rating, Ticket
from quality import reports
from quality.models import FlagState, SameAnswerFlag
from tests.factories import MessageFactory, OrganisationFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")
START = datetime(2026, 11, 1, tzinfo=JAKARTA)
END = datetime(2026, 12, 1, tzinfo=JAKARTA)


@pytest.fixture
def history() -> list[Ticket]:
    """80 tickets over November with varied outcomes, and 5 outside it."""
    rng = random.Random(11)
    agents = [UserFactory(username=f"petugas-{n}", is_staff=True) for n in range(3)]
    partners = [OrganisationFactory(name=f"Mitra {n}", slug=f"mitra-{n}") for n in range(2)]
    categories = [Category.objects.create(code=f"c{n}", name=f"Kategori {n}") for n in range(3)]
    made = []
    for n in range(85):
        opened = START + timedelta(hours=rng.randrange(0, 29 * 24))
        if n >= 80:
            opened = END + timedelta(days=n - 79)  # outside the month
        resolved = rng.random() < 0.7
        reopened = rng.random() < 0.2
        first = opened + timedelta(minutes=rng.randrange(5, 600)) if rng.random() < 0.9 else None
        done = opened + timedelta(minutes=rng.randrange(60, 6000)) if resolved else None
        partner = rng.choice([*partners, None, None])
        waiting = ["in_progress", "new", *(["with_partner"] if partner else [])]
        ticket = TicketFactory(
            channel=rng.choice(["whatsapp", "email", "api", "x"]),
            category=rng.choice([*categories, None]),
            assignee=rng.choice([*agents, None]),
            partner=partner,
            status="resolved" if resolved else rng.choice(waiting),
            first_response_at=first,
            resolved_at=done,
            resolution_due_at=opened + timedelta(minutes=rng.randrange(120, 4000))
            if rng.random() < 0.8
            else None,
            reopen_count=1 if reopened else 0,
        )
        Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)
        for _ in range(rng.randrange(0, 3)):
            MessageFactory(
                ticket=ticket, direction="outbound", author_kind="agent", author=agents[0]
            )
        if resolved and rng.random() < 0.6:
            Rating.objects.create(
                ticket=ticket,
                resolution_round=ticket.reopen_count,
                score=rng.randrange(1, 6),
                solved=rng.random() < 0.7,
            )
        made.append(Ticket.objects.get(pk=ticket.pk))
    replies = list(Message.objects.filter(direction="outbound")[:6])
    for a, b, state in zip(
        replies[::2],
        replies[1::2],
        [FlagState.OPEN, FlagState.DISMISSED, FlagState.CONFIRMED],
        strict=False,
    ):
        SameAnswerFlag.objects.create(
            reply=a, earlier=b, reply_similarity=0.9, question_similarity=0.1, state=state
        )
    return made


def direct(tickets: list[Ticket], now: datetime) -> dict[str, Any]:
    """The figures straight from the definitions, over `tickets`."""

    def minutes(a: datetime | None, b: datetime) -> float | None:
        return None if a is None else (a - b).total_seconds() / 60

    first = [m for t in tickets if (m := minutes(t.first_response_at, t.created_at)) is not None]
    done = [m for t in tickets if (m := minutes(t.resolved_at, t.created_at)) is not None]
    due = [
        t for t in tickets if t.resolution_due_at and (t.resolved_at or t.resolution_due_at < now)
    ]
    kept = [t for t in due if t.resolved_at and t.resolved_at <= t.resolution_due_at]
    ever = [t for t in tickets if t.resolved_at or t.reopen_count]
    ratings = list(Rating.objects.filter(ticket__in=tickets))
    replies = {
        t.pk: Message.objects.filter(
            ticket=t, direction="outbound", is_internal=False, author_kind__in=["agent", "partner"]
        ).count()
        for t in ever
    }
    flags = SameAnswerFlag.objects.filter(reply__ticket__in=tickets).exclude(state="dismissed")

    def pct(values: list[float], q: int) -> float | None:
        return float(np.percentile(values, q)) if values else None

    return {
        "tickets": len(tickets),
        "first_response_median": pct(first, 50),
        "first_response_p90": pct(first, 90),
        "resolution_median": pct(done, 50),
        "resolution_p90": pct(done, 90),
        "sla_compliance": len(kept) / len(due) if due else None,
        "reopen_rate": sum(t.reopen_count > 0 for t in ever) / len(ever) if ever else None,
        "csat": float(np.mean([r.score for r in ratings])) if ratings else None,
        "solved_rate": float(np.mean([r.solved for r in ratings])) if ratings else None,
        "first_contact_resolution": sum(replies[t.pk] <= 1 and not t.reopen_count for t in ever)
        / len(ever)
        if ever
        else None,
        "same_answer_flags": flags.count(),
    }


def key_of(ticket: Ticket, by: str) -> str:
    if by == "channel":
        return ticket.get_channel_display()
    if by == "category":
        return ticket.category.name if ticket.category else reports.NONE
    if by == "agent":
        return ticket.assignee.get_username() if ticket.assignee else reports.NONE
    if by == "partner":
        return ticket.partner.name if ticket.partner else reports.NONE
    year, week, _ = ticket.created_at.astimezone(JAKARTA).isocalendar()
    return f"{year}-W{week:02d}"


@pytest.mark.parametrize("by", reports.DIMENSIONS)
def test_every_figure_matches_a_direct_computation(history: list[Ticket], by: str) -> None:
    from django.utils import timezone

    inside = [t for t in history if START <= t.created_at < END]
    rows = reports.report(by, START, END)
    now = timezone.now()

    assert [r.key for r in rows][-1] == "Total"
    assert {r.key for r in rows[:-1]} == {key_of(t, by) for t in inside}
    for row in rows:
        group = inside if row.key == "Total" else [t for t in inside if key_of(t, by) == row.key]
        expected = direct(group, now)
        for name, value in expected.items():
            got = getattr(row, name)
            assert got == pytest.approx(value), (by, row.key, name)
    assert rows[-1].tickets == 80 and rows[-1].same_answer_flags == 2


def test_the_page_its_csv_and_the_monthly_report(
    history: list[Ticket], supervisor: User, tmp_path: Path
) -> None:
    client = Client()
    client.force_login(supervisor)
    url = reverse("admin:quality_report")
    query = {"by": "agent", "start": "2026-11-01", "end": "2026-11-30"}

    page = client.get(url, query)
    assert page.status_code == 200
    total = reports.report("agent", START, END)[-1]
    html = page.content.decode()
    assert 'id="report"' in html and "petugas-1" in html and f"<td>{total.tickets}</td>" in html
    assert "/static/complaints/dashboard.js" in html

    exported = client.get(url, {**query, "format": "csv"})
    assert exported["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert table[-1]["agent"] == "Total" and int(table[-1]["tickets"]) == 80
    assert float(table[-1]["csat"]) == pytest.approx(total.csat)

    out = tmp_path / "november.html"
    call_command("quality_report", "--month", "2026-11", "--output", str(out))
    monthly = out.read_text()
    for by in reports.DIMENSIONS:
        assert f'id="by-{by}"' in monthly
    assert "November 2026" in monthly


def test_agents_do_not_open_the_report(agent: User) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get(reverse("admin:quality_report")).status_code == 403


def test_a_rejected_ticket_is_no_sla_miss() -> None:
    opened = START + timedelta(days=2)
    for status in ("rejected", "in_progress"):
        ticket = TicketFactory(status=status, resolution_due_at=opened + timedelta(hours=1))
        Ticket.objects.filter(pk=ticket.pk).update(created_at=opened)

    [_row, total] = reports.report("channel", START, END)

    assert total.tickets == 2 and total.sla_compliance == 0.0  # only the open one counts
