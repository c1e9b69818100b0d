"""The agents' queue: most urgent first with SLA badges, filters for mine, unassigned and
SLA state, search by message words (PostgreSQL full text), and the same few queries
whatever the page holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from complaints import services
from complaints.choices import AuthorKind, Status
from complaints.models import Ticket
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
QUEUE = "/admin/complaints/ticket/"


def due_in(minutes: int, **fields: Any) -> Ticket:
    return TicketFactory(
        status=Status.IN_PROGRESS,
        resolution_due_at=timezone.now() + timedelta(minutes=minutes),
        **fields,
    )


def numbers_in(page: str, tickets: list[Ticket]) -> list[str]:
    found = sorted((page.index(t.number), t.number) for t in tickets if t.number in page)
    return [number for _at, number in found]


@pytest.fixture
def staff(agent: Any) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def test_most_urgent_first_with_badges(staff: Client) -> None:
    later, breached, soon = due_in(600), due_in(-30), due_in(20)
    done = TicketFactory(status=Status.RESOLVED, resolution_due_at=timezone.now())
    page = staff.get(QUEUE).content.decode()
    assert numbers_in(page, [later, breached, soon, done]) == [
        breached.number,
        soon.number,
        later.number,
        done.number,
    ]
    assert "sla-breached" in page and "sla-risk" in page and "sla-ok" in page


def test_filters_mine_unassigned_and_sla(staff: Client, agent: Any) -> None:
    mine, nobodys, breached = due_in(600, assignee=agent), due_in(500), due_in(-5)
    paused = TicketFactory(status=Status.WAITING_CITIZEN, sla_paused_reason="Menunggu warga.")
    everyone = [mine, nobodys, breached, paused]
    assert numbers_in(staff.get(QUEUE + "?assigned=mine").content.decode(), everyone) == [
        mine.number
    ]
    assert mine.number not in staff.get(QUEUE + "?assigned=nobody").content.decode()
    assert numbers_in(staff.get(QUEUE + "?sla=breached").content.decode(), everyone) == [
        breached.number
    ]
    assert numbers_in(staff.get(QUEUE + "?sla=paused").content.decode(), everyone) == [
        paused.number
    ]


@pytest.mark.postgres
def test_search_finds_the_words_of_any_message(staff: Client) -> None:
    wanted, other = TicketFactory(subject="Keluhan"), TicketFactory(subject="Keluhan lain")
    services.post_message(
        ticket=wanted, body="Pipa PDAM bocor di depan sekolah", author_kind=AuthorKind.CITIZEN
    )
    page = staff.get(QUEUE + "?q=pipa+bocor").content.decode()
    assert wanted.number in page and other.number not in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'message_body_search'")
        assert cursor.fetchone() is not None


def test_the_queue_costs_the_same_few_queries(
    staff: Client, django_assert_max_num_queries: Any
) -> None:
    for minutes in range(3):
        due_in(minutes * 10)
    with django_assert_max_num_queries(12) as few:
        staff.get(QUEUE)
    for minutes in range(30):
        due_in(minutes * 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff.get(QUEUE)
