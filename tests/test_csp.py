"""The staff and partner sites carry a Content-Security-Policy that allows no inline or
foreign script (RELIABILITY T-i); other pages keep their own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from complaints import services
from complaints.choices import AuthorKind
from config.csp import POLICY
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_admin_and_partner_pages_carry_the_policy(agent: Any, partner_user: Any) -> None:
    staff, partner = Client(), Client()
    staff.force_login(agent)
    partner.force_login(partner_user)
    ticket = TicketFactory()
    for client, path in (
        (Client(), "/admin/login/"),
        (staff, "/admin/"),
        (staff, "/admin/complaints/ticket/"),
        (staff, f"/admin/complaints/ticket/{ticket.pk}/change/"),
        (staff, f"/admin/complaints/ticket/{ticket.pk}/live/"),
        (Client(), "/partner/login/"),
        (partner, "/partner/complaints/ticket/"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
    assert "script-src 'self';" in POLICY and "unsafe-inline" not in POLICY.split("style-src")[0]


def test_the_live_view_gives_the_newer_messages_as_data(agent: Any) -> None:
    ticket = TicketFactory()
    first = services.post_message(ticket=ticket, body="Satu", author_kind=AuthorKind.CITIZEN)
    services.post_message(ticket=ticket, body="<b>Dua</b>", author_kind=AuthorKind.CITIZEN)
    staff = Client()
    staff.force_login(agent)
    data = staff.get(f"/admin/complaints/ticket/{ticket.pk}/live/?after={first.pk}").json()
    assert [m["body"] for m in data["messages"]] == ["<b>Dua</b>"]  # raw: the page sets text
    assert staff.get("/admin/complaints/ticket/999999/live/").status_code == 404
    assert Client().get(f"/admin/complaints/ticket/{ticket.pk}/live/").status_code == 302


def test_every_admin_changelist_and_the_workspace_pages_carry_the_policy(
    supervisor: Any,
) -> None:
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.urls import reverse

    root = User.objects.create_superuser("root", password="x")
    staff = Client()
    staff.force_login(root)
    pages = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    assert "/admin/complaints/handovernote/" in pages
    for path in pages:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path


def test_what_citizens_and_agents_wrote_is_shown_as_text_on_the_workspace_pages(
    agent: Any,
) -> None:
    payload = "<img src=x onerror=alert(1)>"
    ticket = TicketFactory(subject=payload)
    services.post_message(ticket=ticket, body=payload, author_kind=AuthorKind.CITIZEN)
    services.write_handover_note(by=agent, body=payload)
    staff = Client()
    staff.force_login(agent)
    for path in (
        f"/admin/complaints/ticket/{ticket.pk}/change/",
        "/admin/complaints/handovernote/",
        "/admin/",
    ):
        page = staff.get(path).content.decode()
        assert "<img src=x" not in page, path
