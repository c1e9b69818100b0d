"""The admin index is the agents' dashboard: its figures are what the tickets say."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import Ticket
from tests.complaints.test_lifecycle import ticket_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(agent: User) -> Client:
    client = Client()
    client.force_login(agent)
    return client


def figures(client: Client) -> dict[str, object]:
    page = client.get("/admin/").content.decode()
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', page)
    assert found, "the dashboard carries its figures for the charts"
    return dict(json.loads(found.group(1)))


def test_the_dashboard_figures_match_the_tickets(agent_client: Client) -> None:
    now = timezone.now()
    ticket_in("new", channel="whatsapp", resolution_due_at=now - timedelta(hours=1))
    ticket_in("in_progress", channel="whatsapp", resolution_due_at=now + timedelta(minutes=20))
    ticket_in("in_progress", channel="email", resolution_due_at=now + timedelta(days=2))
    ticket_in("with_partner", channel="x")
    ticket_in("closed", channel="x")
    old = ticket_in("resolved", channel="telegram")
    Ticket.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))

    data = figures(agent_client)

    assert (data["open"], data["breached"], data["at_risk"]) == (4, 1, 1)
    by_status = {row["key"]: row["value"] for row in data["open_by_status"]}  # type: ignore[attr-defined]
    assert by_status == {
        "new": 1,
        "triaged": 0,
        "in_progress": 2,
        "waiting_citizen": 0,
        "with_partner": 1,
    }
    by_channel = {row["key"]: row["value"] for row in data["open_by_channel"]}  # type: ignore[attr-defined]
    assert by_channel == {"whatsapp": 2, "email": 1, "x": 1}
    today = {row["key"]: row["value"] for row in data["today_by_channel"]}  # type: ignore[attr-defined]
    assert today == {"whatsapp": 2, "email": 1, "x": 2} and data["today"] == 5
    per_day = data["per_day"]
    assert len(per_day) == 14  # type: ignore[arg-type]
    assert per_day[-1]["value"] == 5 and per_day[-4]["value"] == 1  # type: ignore[index]
    assert sum(day["value"] for day in per_day) == 6  # type: ignore[attr-defined, union-attr]


def test_the_charts_come_from_the_projects_own_static_files(agent_client: Client) -> None:
    page = agent_client.get("/admin/").content.decode()

    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert "/static/complaints/dashboard.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    assert "Open tickets by status" in page and "Shift handover" in page


def test_the_dashboard_takes_the_same_queries_whatever_the_volume(agent_client: Client) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert agent_client.get("/admin/").status_code == 200
        return len(queries)

    ticket_in("new")
    few = count()
    for state in ["new", "in_progress", "with_partner", "closed"] * 10:
        ticket_in(state, channel="telegram")

    assert count() == few
