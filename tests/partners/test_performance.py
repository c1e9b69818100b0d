"""Partner performance for supervisors: the figures match a direct computation over the
same rows; only supervisors see the page."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from escalation.models import BusinessCalendar, Clock, ClockKind
from partners import selectors
from partners.models import Assignment, Organisation, Outcome
from tests.factories import OrganisationFactory, TicketFactory

pytestmark = pytest.mark.django_db


def history(organisations: list[Organisation], seed: int = 7) -> list[Assignment]:
    """200 stays over the last 60 days: accepted or not, done, returned or running."""
    rng = random.Random(seed)
    calendar = BusinessCalendar.objects.create(slug="c", name="c", always_open=True)
    now = timezone.now()
    stays = []
    for _ in range(200):
        organisation = rng.choice(organisations)
        dispatched = now - timedelta(days=rng.uniform(0, 60))
        accepted = (
            dispatched + timedelta(minutes=rng.randint(1, 600)) if rng.random() < 0.8 else None
        )
        outcome = rng.choice([Outcome.DONE, Outcome.RETURNED, Outcome.TAKEN_BACK, ""])
        ended = dispatched + timedelta(hours=rng.randint(1, 96)) if outcome else None
        ticket = TicketFactory()
        stays.append(
            Assignment.objects.create(
                ticket=ticket,
                organisation=organisation,
                dispatched_at=dispatched,
                accepted_at=accepted,
                ended_at=ended,
                outcome=outcome,
            )
        )
        Clock.objects.create(
            ticket=ticket,
            kind=ClockKind.PARTNER_UPDATE,
            calendar=calendar,
            organisation=organisation,
            window=timedelta(hours=4),
            started_at=dispatched,
            breached_at=dispatched + timedelta(hours=4) if rng.random() < 0.3 else None,
        )
    return stays


def middle(values: list[timedelta]) -> timedelta | None:
    """The median: the middle value, or the mean of the two middle ones."""
    if not values:
        return None
    low, high = statistics.median_low(values), statistics.median_high(values)
    return low + (high - low) / 2


def test_the_figures_match_a_direct_computation(django_assert_max_num_queries: Any) -> None:
    organisations = [OrganisationFactory(slug=f"org-{n}") for n in range(3)]
    stays = history(organisations)
    since = timezone.now() - timedelta(days=30)
    with django_assert_max_num_queries(3):
        rows = {row.organisation.slug: row for row in selectors.performance(since)}
    for organisation in organisations:
        mine = [s for s in stays if s.organisation == organisation and s.dispatched_at >= since]
        row = rows[organisation.slug]
        accepted = [s.accepted_at - s.dispatched_at for s in mine if s.accepted_at]
        done = [s.ended_at - s.dispatched_at for s in mine if s.outcome == Outcome.DONE]
        clocks = Clock.objects.filter(organisation=organisation, started_at__gte=since)
        assert row.dispatched == len(mine)
        assert row.accepted == len(accepted)
        assert row.median_to_accept == middle(accepted)
        assert row.median_to_done == middle(done)
        assert row.done == len(done)
        assert row.returned == sum(s.outcome == Outcome.RETURNED for s in mine)
        assert row.windows == clocks.count()
        assert row.windows_kept == clocks.filter(breached_at__isnull=True).count()


def test_only_supervisors_see_the_page(supervisor: Any, agent: Any) -> None:
    organisation = OrganisationFactory(slug="apotek-p", name="Apotek P")
    history([organisation])
    page = Client()
    page.force_login(supervisor)
    answer = page.get("/admin/partners/organisation/performance/?days=30")
    assert answer.status_code == 200 and "Apotek P" in answer.content.decode()
    as_agent = Client()
    as_agent.force_login(agent)
    assert as_agent.get("/admin/partners/organisation/performance/").status_code == 403
