"""`manage.py loaddemo`: everything SPEC lists, idempotent, and the demo users can log in."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from channels_ingest.models import ChannelAccount
from complaints.models import Category, Message, Ticket
from complaints.roles import Role, role_of
from escalation.models import Holiday, SLAPolicy
from partners.models import Organisation

pytestmark = pytest.mark.django_db

TABLES = (User, Category, Organisation, ChannelAccount, SLAPolicy, Holiday, Ticket, Message)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def test_loading_twice_creates_everything_once() -> None:
    call_command("loaddemo")
    first = counts()
    call_command("loaddemo")
    assert counts() == first
    assert first["Ticket"] == 3 and first["Message"] == 3


def test_the_demo_set_is_what_spec_lists() -> None:
    call_command("loaddemo")

    assert set(Category.objects.values_list("code", flat=True)) == {
        "obat-isoman",
        "jaringan",
        "tagihan",
        "rekam-medis",
        "layanan-publik",
    }
    apotek = Organisation.objects.get(slug="apotek-sehat")
    assert (apotek.name, apotek.kind) == ("Apotek Sehat", "pharmacy")
    assert set(SLAPolicy.objects.filter(category=None).values_list("priority", flat=True)) == {
        "low",
        "normal",
        "high",
        "urgent",
        "critical",
    }
    kinds = {"whatsapp", "messenger", "instagram", "x", "telegram", "email", "webchat"}
    accounts = ChannelAccount.objects.filter(slug="demo")
    assert set(accounts.values_list("kind", flat=True)) == kinds
    assert {(a.webhook_secret, a.verify_token) for a in accounts} == {
        ("demo-secret", "demo-verify-token")
    }
    assert accounts.get(kind="email").address == "pengaduan@aduan.example"
    eid = Holiday.objects.filter(calendar__slug="jam-kerja", name__icontains="Eid al-Fitr")
    this_year = date.today().year
    assert eid.filter(date__year=this_year).exists()
    assert eid.filter(date__year=this_year + 1).exists()


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("admin", Role.SUPERVISOR),
        ("agent", Role.AGENT),
        ("supervisor", Role.SUPERVISOR),
        ("apotek", Role.PARTNER),
    ],
)
def test_demo_users_have_their_roles(username: str, role: Role) -> None:
    call_command("loaddemo")
    user = User.objects.get(username=username)
    assert user.check_password(username)
    assert role_of(user) is role


def test_agent_logs_into_the_admin_with_agent_agent_and_sees_the_demo_tickets() -> None:
    call_command("loaddemo")
    client = Client()
    login = client.post(
        "/admin/login/?next=/admin/complaints/ticket/", {"username": "agent", "password": "agent"}
    )
    assert login.status_code == 302
    page = client.get("/admin/complaints/ticket/").content.decode()
    assert all(number in page for number in Ticket.objects.values_list("number", flat=True))


def test_loading_again_keeps_a_changed_password() -> None:
    call_command("loaddemo")
    agent = User.objects.get(username="agent")
    agent.set_password("a much better password")
    agent.save()
    call_command("loaddemo")
    assert User.objects.get(username="agent").check_password("a much better password")


def test_the_demo_has_someone_to_escalate_to_at_every_level() -> None:
    from escalation.models import EscalationContact

    call_command("loaddemo")
    call_command("loaddemo")
    contacts = EscalationContact.objects.filter(organisation=None)
    assert sorted(contacts.values_list("level", "user__username")) == [
        (1, "supervisor"),
        (2, "admin"),
        (3, "admin"),
    ]
