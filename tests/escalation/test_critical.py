"""The critical fast lane and who hears of escalations: at once to the contacts on duty,
again every few minutes until someone acknowledges; breaches to the level's contacts; a
signed webhook to a stakeholder."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
import respx
from django.core import mail as outbox
from django.utils import timezone
from httpx import Response

from complaints import services as complaints
from complaints.choices import Channel
from complaints.models import Ticket
from escalation import services as sla
from escalation.models import DutyShift, Escalation, EscalationContact, SLAPolicy
from tests.escalation.policies import around_the_clock
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(db: None) -> dict[str, EscalationContact]:
    now = timezone.now()
    on = EscalationContact.objects.create(level=1, name="Dokter jaga", email="jaga@rs.example")
    DutyShift.objects.create(
        contact=on, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=7)
    )
    off = EscalationContact.objects.create(level=1, name="Dokter libur", email="libur@rs.example")
    DutyShift.objects.create(
        contact=off, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=16)
    )
    head = EscalationContact.objects.create(level=2, name="Kepala", email="kepala@rs.example")
    return {"on": on, "off": off, "head": head}


@pytest.fixture
def policy(db: None) -> SLAPolicy:
    """An hour to answer, around the clock; level 2 half an hour after a breach."""
    return around_the_clock(resolution_minutes=6000, level2_after_minutes=30)


def open_one(capture: Any, priority: str = "normal") -> Ticket:
    with capture(execute=True):
        return complaints.open_ticket(
            citizen=CitizenFactory(),
            channel=Channel.WHATSAPP,
            subject="Pasien sesak napas",
            body="Ayah saya sesak, oksigen habis.",
            priority=priority,
        )


def recipients() -> list[str]:
    return [address for message in outbox.outbox for address in message.to]


def test_a_critical_ticket_escalates_at_once_and_repeats_until_acknowledged(
    contacts: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_one(django_capture_on_commit_callbacks, priority="critical")
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.level, Ticket.objects.get(pk=ticket.pk).escalation_level) == (1, 1)
    assert recipients() == ["jaga@rs.example"]  # on duty now; not the one off duty
    assert outbox.outbox[0].subject == f"[{ticket.number}] Eskalasi level 1"
    later = escalation.created_at + timedelta(minutes=6)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(later).reminders == 1
    assert recipients() == ["jaga@rs.example", "jaga@rs.example"]
    assert "Pengingat ke-1" in outbox.outbox[-1].body
    sla.acknowledge(escalation, by=agent)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(later + timedelta(minutes=30)).reminders == 0
    assert len(outbox.outbox) == 2
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == agent and escalation.repeat_at is None


def test_a_ticket_made_critical_escalates_at_once(
    contacts: Any, agent: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_one(django_capture_on_commit_callbacks)
    assert not Escalation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        complaints.change_ticket_details(ticket=ticket, by=agent, priority="critical")
    assert Escalation.objects.get(ticket=ticket).repeat_at is not None
    assert recipients() == ["jaga@rs.example"]


def test_a_breach_tells_the_contacts_of_its_level(
    contacts: Any, policy: SLAPolicy, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = open_one(django_capture_on_commit_callbacks)
    start = ticket.clocks.get(kind="first_response").started_at
    with django_capture_on_commit_callbacks(execute=True):
        sla.sweep(start + timedelta(minutes=61))
    assert recipients() == ["jaga@rs.example"]
    with django_capture_on_commit_callbacks(execute=True):
        sla.sweep(start + timedelta(minutes=91))
    assert recipients() == ["jaga@rs.example", "kepala@rs.example"]


def test_a_stakeholder_webhook_gets_each_escalation_signed(
    contacts: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ADUAN_ESCALATION_WEBHOOK_URL = "https://dinkes.provider.test/aduan"
    settings.ADUAN_ESCALATION_WEBHOOK_SECRET = "rahasia-dinkes"
    with respx.mock() as router:
        route = router.post("https://dinkes.provider.test/aduan").mock(return_value=Response(200))
        ticket = open_one(django_capture_on_commit_callbacks, priority="critical")
    request = route.calls.last.request
    stamp = request.headers["X-Aduan-Timestamp"]
    expected = hmac.new(b"rahasia-dinkes", stamp.encode() + b"." + request.content, hashlib.sha256)
    assert request.headers["X-Aduan-Signature"] == f"sha256={expected.hexdigest()}"
    escalation = Escalation.objects.get(ticket=ticket)
    assert request.headers["X-Aduan-Delivery"] == f"escalation-{escalation.pk}-0"
    assert json.loads(request.content) | {"at": None} == {
        "event": "ticket.escalated",
        "ticket": ticket.number,
        "level": 1,
        "reason": escalation.reason,
        "clock": None,
        "reminder": 0,
        "at": None,
    }


def test_an_agent_acknowledges_in_the_admin(
    contacts: Any, admin_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.conf import settings

    ticket = open_one(django_capture_on_commit_callbacks, priority="critical")
    escalation = Escalation.objects.get(ticket=ticket)
    page = admin_client.post(
        f"/{settings.ADUAN_ADMIN_URL}escalation/escalation/",
        {"action": "acknowledge", "_selected_action": [escalation.pk]},
    )
    assert page.status_code == 302
    escalation.refresh_from_db()
    assert escalation.acknowledged_at is not None and escalation.repeat_at is None


def test_the_assignee_is_warned_before_the_breach(
    agent: Any, policy: SLAPolicy, django_capture_on_commit_callbacks: Any
) -> None:
    agent.email = "petugas@aduan.example"
    agent.save()
    ticket = open_one(django_capture_on_commit_callbacks)
    complaints.assign_ticket(ticket=ticket, assignee=agent, by=agent)
    start = ticket.clocks.get(kind="first_response").started_at
    with django_capture_on_commit_callbacks(execute=True):
        assert sla.sweep(start + timedelta(minutes=50)).warnings == 1
    [warning] = outbox.outbox
    assert warning.to == ["petugas@aduan.example"]
    assert warning.subject == f"[{ticket.number}] Peringatan SLA: First response"
    with django_capture_on_commit_callbacks(execute=True):
        sla.sweep(start + timedelta(minutes=55))
    assert len(outbox.outbox) == 1  # warned once
