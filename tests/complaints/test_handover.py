"""Shift handover: notes from one shift to the next, and the team's open tickets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from complaints.models import HandoverNote
from complaints.services import write_handover_note
from complaints.shifts import shift_at
from tests.complaints.test_lifecycle import ticket_in

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")
PAGE = reverse("admin:complaints_handovernote_changelist")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=JAKARTA)


@pytest.mark.parametrize(
    ("at", "start", "end"),
    [
        (local(3, 14), local(3, 7), local(3, 15)),
        (local(3, 15), local(3, 15), local(3, 23)),
        (local(3, 23, 30), local(3, 23), local(4, 7)),
        (local(4, 3), local(3, 23), local(4, 7)),  # the night shift began the day before
    ],
)
def test_shifts_follow_the_configured_start_times(
    at: datetime, start: datetime, end: datetime
) -> None:
    assert shift_at(at) == (start, end)


def test_a_note_is_for_the_shift_that_follows(agent: User) -> None:
    note = write_handover_note(by=agent, body="Tiket obat Bu Sari: tunggu apotek.", at=local(4, 3))

    assert note.shift_start == local(4, 7) and note.author == agent


def test_only_staff_write_notes_and_never_empty(agent: User, citizen_user: User) -> None:
    with pytest.raises(PermissionDenied):
        write_handover_note(by=citizen_user, body="x")
    with pytest.raises(ValidationError):
        write_handover_note(by=agent, body="  ")
    assert not HandoverNote.objects.exists()


def test_the_page_shows_the_previous_shifts_note_and_the_teams_open_tickets(
    agent: User, other_agent: User
) -> None:
    from django.utils import timezone

    start, _end = shift_at(timezone.now())
    HandoverNote.objects.create(shift_start=start, author=other_agent, body="Cek tiket BPJS.")
    mine = ticket_in("in_progress", assignee=agent, subject="Obat isoman")
    theirs = ticket_in("waiting_citizen", assignee=other_agent, subject="Jalan rusak")
    done = ticket_in("closed", assignee=agent, subject="Sudah selesai")
    ticket_in("new")  # unassigned
    client = Client()
    client.force_login(agent)  # signs in this shift: on duty

    page = client.get(PAGE).content.decode()

    assert "Cek tiket BPJS." in page
    assert mine.number in page and theirs.number in page and done.number not in page
    on_duty = page[page.index('id="on-duty"') :].split("</div>")[0]
    assert "agent-1" in on_duty and "agent-2" not in on_duty
    team = page[page.index('id="team-tickets"') :]
    assert "agent-2 — not on this shift (1)" in team and "agent-1 (1)" in team
    assert "Open and unassigned: 1." in page

    response = client.post(PAGE, {"body": "BPJS belum jawab, tanya lagi jam 9."})

    assert response.status_code == 302
    note = HandoverNote.objects.get(author=agent)
    assert note.shift_start == shift_at(timezone.now())[1]
    assert "BPJS belum jawab" in client.get(PAGE).content.decode()


def test_partners_and_citizens_do_not_see_the_handover(
    partner_user: User, citizen_user: User
) -> None:
    for user in (partner_user, citizen_user):
        client = Client()
        client.force_login(user)
        response = client.get(PAGE)
        assert response.status_code == 302 and "/login/" in response["Location"]
