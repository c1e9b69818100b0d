"""A mobile developer's path through the API, and another citizen seeing nothing of it."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from PIL import Image
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Message, Ticket
from tests.api.conftest import complaint

pytestmark = pytest.mark.django_db
NUMBER = re.compile(r"^ADU-\d{4}-[0-9A-HJKMNP-TV-Z]{6}$")


def png(size: tuple[int, int] = (8, 8)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "foto.png"
    return buffer


def test_register_sign_in_complain_follow_reply_reopen_and_rate(category: Any, agent: User) -> None:
    anonymous = APIClient()
    registered = anonymous.post(
        "/api/v1/auth/register/",
        {"name": "Sari", "phone": "0812-3456-7890", "password": "kata-sandi-panjang-123"},
        format="json",
    )
    assert registered.status_code == 201
    assert registered.json()["citizen"] == {
        "name": "Sari",
        "email": None,
        "phone": "+6281234567890",
    }

    signed_in = anonymous.post(
        "/api/v1/auth/token/",
        {"username": "+62 812 3456 7890", "password": "kata-sandi-panjang-123"},
        format="json",
    )
    assert signed_in.status_code == 200
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['token']}")

    categories = app.get("/api/v1/categories/").json()
    assert categories == [
        {"code": "obat-isoman", "name": "Pengiriman obat isoman", "description": ""}
    ]

    created = app.post("/api/v1/tickets/", complaint(priority="high"), format="json")
    assert created.status_code == 201
    ticket = created.json()
    assert NUMBER.match(ticket["number"])
    assert (ticket["status"], ticket["priority"], ticket["category"]) == (
        "new",
        "high",
        "obat-isoman",
    )
    number = ticket["number"]

    listed = app.get("/api/v1/tickets/").json()
    assert [t["number"] for t in listed["results"]] == [number]

    sent = app.post(
        f"/api/v1/tickets/{number.lower()}/messages/",
        {"body": "Ini foto resepnya", "attachments": [png()]},
        format="multipart",
    )
    assert sent.status_code == 201 and sent.json()["author"] == "citizen"

    stored = Ticket.objects.get(number=number)
    services.post_message(
        ticket=stored, body="cek stok apotek", author_kind="agent", by=agent, is_internal=True
    )
    services.transition_ticket(ticket=stored, transition="triage", by=agent)
    services.transition_ticket(
        ticket=stored, transition="resolve", by=agent, reason="Obat sudah dikirim"
    )

    detail = app.get(f"/api/v1/tickets/{number}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert detail["description"] == "Sudah 24 jam status masih menunggu konfirmasi."
    assert (detail["status_label"], detail["can_reopen"], detail["can_rate"]) == (
        "Resolved",
        True,
        True,
    )
    kinds = [(e["type"], e.get("status") or e.get("body")) for e in detail["timeline"]]
    assert kinds == [
        ("status", "new"),
        ("message", "Sudah 24 jam status masih menunggu konfirmasi."),
        ("message", "Ini foto resepnya"),
        ("status", "triaged"),
        ("status", "resolved"),
    ]
    assert detail["timeline"][-1]["reason"] == "Obat sudah dikirim"
    assert "cek stok apotek" not in str(detail)  # internal notes never reach the citizen
    photo = detail["timeline"][2]["attachments"][0]
    download = app.get(photo["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"

    reopened = app.post(
        f"/api/v1/tickets/{number}/reopen/", {"reason": "Obat salah"}, format="json"
    )
    assert reopened.status_code == 200 and reopened.json()["status"] == "in_progress"
    services.transition_ticket(ticket=stored, transition="resolve", by=agent, reason="Obat diganti")
    rated = app.post(
        f"/api/v1/tickets/{number}/rating/", {"score": 5, "comment": "Cepat"}, format="json"
    )
    again = app.post(f"/api/v1/tickets/{number}/rating/", {"score": 1}, format="json")
    assert rated.status_code == 201 and again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_another_citizen_sees_nothing_of_it_not_even_that_it_exists(
    sari: APIClient, budi: APIClient, category: Any
) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    message = Message.objects.get(ticket__number=number)

    attempts = [
        budi.get(f"/api/v1/tickets/{number}/"),
        budi.post(f"/api/v1/tickets/{number}/messages/", {"body": "x"}, format="json"),
        budi.post(f"/api/v1/tickets/{number}/reopen/", {"reason": "x"}, format="json"),
        budi.post(f"/api/v1/tickets/{number}/rating/", {"score": 1}, format="json"),
        budi.get(f"/api/v1/tickets/{number}/attachments/{message.pk}/"),
    ]
    missing = budi.get("/api/v1/tickets/ADU-2611-ZZZZZZ/")

    assert [r.status_code for r in attempts] == [404] * 5
    assert all(
        r.json() == missing.json() == {"code": "not_found", "detail": "Not found."}
        for r in attempts
    )
    assert budi.get("/api/v1/tickets/").json()["results"] == []
    assert Message.objects.filter(ticket__number=number).count() == 1


def test_without_a_token_the_api_answers_401(category: Any) -> None:
    client = APIClient()
    assert client.get("/api/v1/tickets/").status_code == 401
    assert client.post("/api/v1/tickets/", complaint(), format="json").status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.get("/api/v1/tickets/").status_code == 401
    assert not Ticket.objects.exists()


def test_a_deactivated_account_and_its_token_stop_working_at_once(
    sari: APIClient, category: Any
) -> None:
    assert sari.post("/api/v1/tickets/", complaint(), format="json").status_code == 201
    User.objects.filter(citizen__isnull=False).update(is_active=False)
    assert sari.get("/api/v1/tickets/").status_code == 401


def test_staff_tokens_see_what_their_role_may_see(
    sari: APIClient, agent: User, partner_user: User, category: Any
) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    as_agent, as_partner = APIClient(), APIClient()
    as_agent.credentials(HTTP_AUTHORIZATION=f"Bearer {services.api_token_for(agent)}")
    as_partner.credentials(HTTP_AUTHORIZATION=f"Bearer {services.api_token_for(partner_user)}")
    assert as_agent.get(f"/api/v1/tickets/{number}/").status_code == 200
    assert as_partner.get(f"/api/v1/tickets/{number}/").status_code == 404
    refused = as_agent.post("/api/v1/tickets/", complaint(), format="json")
    assert refused.status_code == 403


def test_labels_follow_accept_language(sari: APIClient, category: Any) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    indonesian = sari.get(f"/api/v1/tickets/{number}/", HTTP_ACCEPT_LANGUAGE="id").json()
    english = sari.get(f"/api/v1/tickets/{number}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (indonesian["status_label"], english["status_label"]) == ("Diterima", "Received")
    assert indonesian["timeline"][0]["status_label"] == "Diterima"


def test_the_list_filters_by_status_and_pages_by_cursor(sari: APIClient, category: Any) -> None:
    numbers = [
        sari.post("/api/v1/tickets/", complaint(subject=f"Aduan {i}"), format="json").json()[
            "number"
        ]
        for i in range(5)
    ]
    Ticket.objects.filter(number=numbers[0]).update(priority="low")
    first = sari.get("/api/v1/tickets/", {"page_size": 2}).json()
    second = sari.get(first["next"]).json()
    assert [t["number"] for t in first["results"] + second["results"]] == numbers[::-1][:4]
    assert sari.get("/api/v1/tickets/", {"status": "resolved"}).json()["results"] == []
    assert sari.get("/api/v1/tickets/", {"status": "nonsense"}).status_code == 400


def test_public_endpoints_ignore_a_stale_token(category: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer revoked-or-old")
    assert client.get("/api/v1/categories/").status_code == 200
    registered = client.post(
        "/api/v1/auth/register/",
        {"name": "Sari", "email": "sari@example.com", "password": "kata-sandi-panjang-123"},
        format="json",
    )
    assert registered.status_code == 201
