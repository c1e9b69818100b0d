"""The partner-update clock runs on the partner's own calendar: a pharmacy closed for Eid
is not late while it is closed, is late after it reopens and lets its window pass, and
its breach goes to its own contacts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail as outbox
from django.utils import timezone

from complaints import services as complaints
from complaints.choices import Channel
from complaints.models import Ticket
from escalation import services as sla
from escalation.models import (
    BusinessCalendar,
    Clock,
    ClockKind,
    Closure,
    Escalation,
    EscalationContact,
    SLAPolicy,
)
from tests.escalation.policies import around_the_clock
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


@pytest.fixture
def policy(db: None) -> SLAPolicy:
    """Two hours between partner updates; the agents' own clocks far away."""
    return around_the_clock(
        first_response_minutes=100_000, resolution_minutes=200_000, partner_update_minutes=120
    )


@pytest.fixture
def eid(partner_org: Any) -> Closure:
    """The pharmacy opens around the clock, but is shut for Eid from an hour ago for
    two days."""
    calendar = BusinessCalendar.objects.create(
        slug="apotek-a", name="Apotek A", always_open=True, country=""
    )
    partner_org.calendar = calendar
    partner_org.save()
    now = timezone.now()
    EscalationContact.objects.create(
        organisation=partner_org, level=1, name="Apoteker", email="apoteker@apotek.example"
    )
    return Closure.objects.create(
        calendar=calendar,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        reason="Tutup Idul Fitri",
    )


def dispatched(agent: Any, partner: Any) -> Ticket:
    ticket = complaints.open_ticket(
        citizen=CitizenFactory(),
        channel=Channel.WHATSAPP,
        subject="Obat belum dikirim",
        body="Resep sudah seminggu.",
    )
    complaints.transition_ticket(ticket=ticket, transition="triage", by=agent)
    return complaints.transition_ticket(
        ticket=ticket,
        transition="dispatch",
        by=agent,
        reason="Apotek menyiapkan obat Anda.",
        partner=partner,
    )


def partner_clock(ticket: Ticket) -> Clock:
    return Clock.objects.get(ticket=ticket, kind=ClockKind.PARTNER_UPDATE, stopped_at=None)


def test_the_partner_clock_does_not_run_while_the_partner_is_closed(
    policy: SLAPolicy, eid: Closure, agent: Any, partner_org: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    clock = partner_clock(ticket)
    assert clock.calendar_id == partner_org.calendar_id
    assert clock.due_at == eid.ends_at + 120 * MINUTE
    assert sla.sweep(eid.ends_at - MINUTE).escalations == 0  # closed all that time


def test_a_partner_that_misses_its_window_after_reopening_escalates_to_its_contacts(
    policy: SLAPolicy,
    eid: Closure,
    agent: Any,
    partner_org: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = dispatched(agent, partner_org)
    assert sla.sweep(eid.ends_at + 119 * MINUTE).escalations == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(eid.ends_at + 121 * MINUTE).escalations == 1
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.clock.kind, escalation.level) == (ClockKind.PARTNER_UPDATE, 1)
    assert [m.to for m in outbox.outbox] == [["apoteker@apotek.example"]]


def test_a_partner_update_starts_its_window_again(
    policy: SLAPolicy, eid: Closure, agent: Any, partner_org: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    sla.partner_updated(ticket, eid.ends_at + 100 * MINUTE)
    assert partner_clock(ticket).due_at == eid.ends_at + 220 * MINUTE
    assert sla.sweep(eid.ends_at + 200 * MINUTE).escalations == 0


def test_a_partner_without_a_calendar_runs_on_the_policys(
    policy: SLAPolicy, agent: Any, partner_org: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    clock = partner_clock(ticket)
    assert clock.calendar_id == policy.calendar_id
    assert clock.due_at == clock.started_at + 120 * MINUTE


def test_taking_the_ticket_back_stops_the_partner_clock(
    policy: SLAPolicy, eid: Closure, agent: Any, partner_org: Any
) -> None:
    ticket = dispatched(agent, partner_org)
    complaints.transition_ticket(ticket=ticket, transition="take_back", by=agent)
    assert not Clock.objects.filter(
        ticket=ticket, kind=ClockKind.PARTNER_UPDATE, stopped_at=None
    ).exists()
    assert sla.sweep(eid.ends_at + 1000 * MINUTE).escalations == 0
