"""SLA clocks on tickets and the sweep, through the service layer: due times from the
policy's calendar, first response stopped only by a person, resolution paused while
waiting for the citizen, warning then breach then the next levels, each once; manual
escalation that changes nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from complaints import services as complaints
from complaints.choices import AuthorKind, Channel, EventKind, Status
from complaints.models import Ticket, TicketEvent
from escalation import services as sla
from escalation.models import BusinessCalendar, Clock, ClockKind, Closure, Escalation, SLAPolicy
from tests.escalation.policies import around_the_clock
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


@pytest.fixture
def policy(db: None) -> SLAPolicy:
    return around_the_clock(
        partner_update_minutes=120,
        warning_percent=80,
        level2_after_minutes=60,
        level3_after_minutes=240,
    )


def open_one(**fields: Any) -> Ticket:
    return complaints.open_ticket(
        citizen=CitizenFactory(),
        channel=Channel.WHATSAPP,
        subject="Air mati",
        body="Sudah tiga hari.",
        **fields,
    )


def clock(ticket: Ticket, kind: str) -> Clock:
    return Clock.objects.filter(ticket=ticket, kind=kind).latest("round")


def move(ticket: Ticket, transition: str, agent: Any, reason: str = "") -> Ticket:
    return complaints.transition_ticket(
        ticket=ticket, transition=transition, by=agent, reason=reason
    )


def test_a_new_ticket_has_both_clocks_due_by_its_policy(policy: SLAPolicy) -> None:
    ticket = open_one()
    ticket.refresh_from_db()
    first = clock(ticket, ClockKind.FIRST_RESPONSE)
    start = first.started_at  # in the transaction that opened the ticket
    assert abs(ticket.created_at - start) < timedelta(seconds=1)
    assert ticket.first_response_due_at == start + 60 * MINUTE
    assert ticket.resolution_due_at == start + 480 * MINUTE
    assert first.warn_at == start + 48 * MINUTE  # 80 % of the window
    assert first.next_check_at == first.warn_at


def test_without_a_policy_there_is_no_clock(db: None) -> None:
    ticket = open_one()
    assert not Clock.objects.exists()
    assert ticket.first_response_due_at is None


def test_due_times_follow_the_calendar_and_its_closures(policy: SLAPolicy) -> None:
    office = BusinessCalendar.objects.create(slug="kantor", name="Kantor", country="")
    policy.calendar = office
    policy.save()
    now = datetime.now(tz=office_zone())
    Closure.objects.create(
        calendar=office,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=10),
        reason="Renovasi gedung",
    )
    ticket = open_one()
    ticket.refresh_from_db()
    reopens = now + timedelta(days=10)
    assert ticket.first_response_due_at is not None
    assert ticket.first_response_due_at > reopens
    schedule = sla.schedule_for(office)
    start = clock(ticket, ClockKind.FIRST_RESPONSE).started_at
    assert schedule.between(start, ticket.first_response_due_at) == 60 * MINUTE


def office_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")


def test_only_a_persons_public_reply_stops_the_first_response_clock(
    policy: SLAPolicy, agent: Any
) -> None:
    ticket = open_one()
    complaints.post_message(ticket=ticket, body="Diterima otomatis.", author_kind=AuthorKind.SYSTEM)
    assert clock(ticket, ClockKind.FIRST_RESPONSE).stopped_at is None
    complaints.post_message(
        ticket=ticket,
        body="Catatan dalam.",
        author_kind=AuthorKind.AGENT,
        by=agent,
        is_internal=True,
    )
    assert clock(ticket, ClockKind.FIRST_RESPONSE).stopped_at is None
    complaints.post_message(ticket=ticket, body="Kami cek.", author_kind=AuthorKind.AGENT, by=agent)
    first = clock(ticket, ClockKind.FIRST_RESPONSE)
    assert first.stopped_at is not None and first.next_check_at is None
    assert clock(ticket, ClockKind.RESOLUTION).stopped_at is None


def test_waiting_for_the_citizen_pauses_resolution_and_their_reply_resumes_it(
    policy: SLAPolicy, agent: Any
) -> None:
    ticket = open_one()
    ticket = move(ticket, "triage", agent)
    ticket = move(ticket, "start", agent)
    ticket = move(ticket, "wait_for_citizen", agent, reason="Mohon kirim nomor pelanggan.")
    ticket.refresh_from_db()
    paused = clock(ticket, ClockKind.RESOLUTION)
    assert ticket.resolution_due_at is None and ticket.sla_paused_reason
    assert paused.paused_at is not None and paused.next_check_at is None
    assert 470 * MINUTE < paused.remaining <= 480 * MINUTE
    complaints.post_message(
        ticket=ticket, body="Nomor saya 1234.", author_kind=AuthorKind.CITIZEN, by=None
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    resumed = clock(ticket, ClockKind.RESOLUTION)
    assert resumed.paused_at is None and not ticket.sla_paused_reason
    assert ticket.resolution_due_at == resumed.due_at
    # The time spent waiting did not count.
    assert resumed.due_at >= paused.paused_at + paused.remaining
    assert resumed.due_at - (paused.paused_at + paused.remaining) < 60 * MINUTE


def test_warning_then_breach_then_each_level_once(policy: SLAPolicy) -> None:
    ticket = open_one()
    start = clock(ticket, ClockKind.FIRST_RESPONSE).started_at
    assert sla.sweep(start + 30 * MINUTE).as_dict() == dict.fromkeys(
        ("clocks", "warnings", "escalations", "reminders"), 0
    )
    assert sla.sweep(start + 50 * MINUTE).warnings == 1  # 80 % of the first response
    assert sla.sweep(start + 50 * MINUTE).clocks == 0  # warned once
    assert sla.sweep(start + 61 * MINUTE).escalations == 1
    assert sla.sweep(start + 61 * MINUTE).escalations == 0
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert sla.sweep(start + 121 * MINUTE).escalations == 1  # level 2, an hour after
    assert sla.sweep(start + 301 * MINUTE).escalations == 1  # level 3, four hours after
    assert sla.sweep(start + 1000 * MINUTE).escalations == 3  # resolution: 1, 2 and 3 at once
    assert sla.sweep(start + 5000 * MINUTE).clocks == 0  # nothing left to do
    levels = Escalation.objects.filter(ticket=ticket).values_list("clock__kind", "level")
    assert sorted(levels) == [
        ("first_response", 1),
        ("first_response", 2),
        ("first_response", 3),
        ("resolution", 1),
        ("resolution", 2),
        ("resolution", 3),
    ]
    ticket.refresh_from_db()
    assert ticket.escalation_level == 3
    assert TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ESCALATED).count() == 6


def test_a_resolved_ticket_is_never_escalated(policy: SLAPolicy, agent: Any) -> None:
    ticket = open_one()
    ticket = move(ticket, "triage", agent)
    move(ticket, "resolve", agent, reason="Sudah diperbaiki.")
    assert sla.sweep(ticket.created_at + 10_000 * MINUTE).clocks == 0
    assert not Escalation.objects.exists()


def test_a_reopen_starts_a_new_resolution_round(policy: SLAPolicy, agent: Any) -> None:
    ticket = open_one()
    ticket = move(ticket, "triage", agent)
    ticket = move(ticket, "resolve", agent, reason="Sudah diperbaiki.")
    ticket = move(ticket, "reopen", agent, reason="Masih mati.")
    rounds = Clock.objects.filter(ticket=ticket, kind=ClockKind.RESOLUTION).order_by("round")
    assert [(c.round, c.stopped_at is None) for c in rounds] == [(0, False), (1, True)]
    ticket.refresh_from_db()
    assert ticket.resolution_due_at == clock(ticket, ClockKind.RESOLUTION).due_at


def test_an_agent_escalates_by_hand_without_changing_anything_else(
    policy: SLAPolicy, agent: Any
) -> None:
    ticket = open_one()
    before = Ticket.objects.get(pk=ticket.pk)
    escalation = sla.escalate(ticket, by=agent, reason="Pasien kritis, perlu dokter jaga.")
    after = Ticket.objects.get(pk=ticket.pk)
    assert (escalation.level, after.escalation_level) == (1, 1)
    assert (after.status, after.version) == (before.status, before.version)
    assert clock(ticket, ClockKind.FIRST_RESPONSE).next_check_at is not None  # still running
    complaints.post_message(  # the conversation goes on
        ticket=after, body="Masih menunggu.", author_kind=AuthorKind.CITIZEN, by=None
    )
    with pytest.raises(ValidationError):
        sla.escalate(ticket, by=agent, reason="  ")
    with pytest.raises(PermissionDenied):
        sla.escalate(ticket, by=None, reason="bukan petugas")


def test_the_command_sweeps_as_if_at_a_time(policy: SLAPolicy, capsys: Any) -> None:
    ticket = open_one()
    at = (clock(ticket, ClockKind.FIRST_RESPONSE).started_at + 61 * MINUTE).isoformat()
    call_command("sla_sweep", "--at", at)
    assert "1 escalations" in capsys.readouterr().out
    assert Escalation.objects.count() == 1


def test_the_citizen_api_shows_both_due_times_and_why_a_clock_is_paused(
    policy: SLAPolicy, agent: Any
) -> None:
    from rest_framework.test import APIClient

    citizen = complaints.register_citizen(
        name="Sari", email="sari@surel.example", password="x" * 16
    )
    ticket = complaints.open_ticket(
        citizen=citizen, channel=Channel.API, subject="Air mati", body="Tiga hari.", by=citizen.user
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {complaints.api_token_for(citizen.user)}")
    shown = api.get(f"/api/v1/tickets/{ticket.number}/").json()
    start = clock(ticket, ClockKind.FIRST_RESPONSE).started_at
    assert datetime.fromisoformat(shown["first_response_due_at"]) == start + 60 * MINUTE
    assert datetime.fromisoformat(shown["resolution_due_at"]) == start + 480 * MINUTE
    assert shown["resolution_paused_reason"] is None
    ticket = move(move(ticket, "triage", agent), "start", agent)
    move(ticket, "wait_for_citizen", agent, reason="Mohon foto meteran.")
    shown = api.get(f"/api/v1/tickets/{ticket.number}/").json()
    assert shown["resolution_due_at"] is None
    assert shown["resolution_paused_reason"] == "Menunggu jawaban warga."
