"""Bad input gets the documented error and writes nothing; limits answer 413/415/422/429."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Attachment, Citizen, IdempotencyKey, Message, Ticket
from tests.api.conftest import complaint
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


# --- Registration and sign-in ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "A", "password": "kata-sandi-panjang-123"}, {"email"}),
        ({"name": "A", "phone": "12", "password": "kata-sandi-panjang-123"}, {"phone"}),
        ({"name": "A", "email": "not-an-email", "password": "kata-sandi-panjang-123"}, {"email"}),
        ({"name": "A", "email": "a@example.com", "password": "123"}, {"password"}),
        ({"email": "a@example.com", "password": "kata-sandi-panjang-123"}, {"name"}),
    ],
)
def test_registration_errors_name_their_fields(body: dict[str, Any], fields: set[str]) -> None:
    response = APIClient().post("/api/v1/auth/register/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == fields
    assert not Citizen.objects.exists()


def test_the_same_person_cannot_register_twice(sari: APIClient) -> None:
    again = APIClient().post(
        "/api/v1/auth/register/",
        {"name": "Sari", "email": "SARI@example.com", "password": "kata-sandi-panjang-123"},
        format="json",
    )
    assert again.status_code == 400 and set(again.json()["fields"]) == {"email"}
    assert Citizen.objects.count() == 1


def test_five_wrong_passwords_lock_the_account_and_the_sixth_try_is_429(sari: APIClient) -> None:
    client = APIClient()
    wrong = {"username": "sari@example.com", "password": "salah"}
    codes = [client.post("/api/v1/auth/token/", wrong, format="json").status_code for _ in range(5)]
    locked = client.post("/api/v1/auth/token/", wrong, format="json")
    right = client.post(
        "/api/v1/auth/token/",
        {"username": "sari@example.com", "password": "kata-sandi-panjang-123"},
        format="json",
    )
    assert codes == [400] * 4 + [429]  # the fifth failure locks, and says so
    assert locked.status_code == 429 and int(locked["Retry-After"]) == 15 * 60
    assert right.status_code == 429  # the right password too, while locked


# --- Tickets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"category": "no-such-thing"}, "category"),
        ({"subject": ""}, "subject"),
        ({"description": ""}, "description"),
        ({"priority": "whenever"}, "priority"),
        ({"subject": "x" * 201}, "subject"),
        ({"location": {"latitude": "91"}}, "location"),
    ],
)
def test_a_bad_complaint_is_400_with_field_messages_and_stores_nothing(
    sari: APIClient, category: Any, overrides: dict[str, Any], field: str
) -> None:
    response = sari.post("/api/v1/tickets/", complaint(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Ticket.objects.exists() and not Message.objects.exists()


def test_the_same_idempotency_key_gives_the_same_ticket(sari: APIClient, category: Any) -> None:
    first = sari.post("/api/v1/tickets/", complaint(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = sari.post("/api/v1/tickets/", complaint(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = sari.post(
        "/api/v1/tickets/", complaint(subject="Lain"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["number"] == again.json()["number"]
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_idempotency_keys_belong_to_their_user(
    sari: APIClient, budi: APIClient, category: Any
) -> None:
    one = sari.post("/api/v1/tickets/", complaint(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    two = budi.post("/api/v1/tickets/", complaint(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert one.json()["number"] != two.json()["number"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_key_sent_ten_times_at_once_opens_one_ticket(close_db_connection: Any) -> None:
    from tests.api.conftest import citizen_client
    from tests.factories import CategoryFactory

    CategoryFactory(code="obat-isoman")
    client = citizen_client("Sari", "sari@example.com")
    barrier = threading.Barrier(10)
    results: list[tuple[int, str]] = []

    @close_db_connection
    def send() -> None:
        barrier.wait()
        response = client.post(
            "/api/v1/tickets/", complaint(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me"
        )
        results.append((response.status_code, response.json().get("number", "")))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {code for code, _ in results} == {201}
    assert len({number for _, number in results}) == 1
    assert Ticket.objects.count() == 1 and IdempotencyKey.objects.count() == 1


def test_transitions_not_allowed_now_are_409(sari: APIClient, category: Any) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    reopen = sari.post(f"/api/v1/tickets/{number}/reopen/", {"reason": "x"}, format="json")
    rate = sari.post(f"/api/v1/tickets/{number}/rating/", {"score": 4}, format="json")
    assert (reopen.status_code, rate.status_code) == (409, 409)
    assert reopen.json()["code"] == "conflict" and "detail" in reopen.json()
    assert Ticket.objects.get(number=number).status == "new"


def test_creating_is_throttled_with_retry_after(
    sari: APIClient, category: Any, settings: Any
) -> None:
    codes = [
        sari.post("/api/v1/tickets/", complaint(subject=f"A {i}"), format="json") for i in range(12)
    ]
    assert [r.status_code for r in codes] == [201] * 10 + [429] * 2
    assert int(codes[-1]["Retry-After"]) > 0
    assert Ticket.objects.count() == 10


def test_the_creation_limit_slides_with_time(
    sari: APIClient, category: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10 per minute: a full minute blocks; half a minute later the older half counts half."""
    clock = [6_000_000.0]  # the start of a minute window
    monkeypatch.setattr("complaints.api.throttles.SlidingWindow.timer", lambda self: clock[0])

    def create(n: int) -> list[int]:
        return [
            sari.post("/api/v1/tickets/", complaint(subject=f"A {i}"), format="json").status_code
            for i in range(n)
        ]

    assert create(11) == [201] * 10 + [429]
    clock[0] += 30
    refused = sari.post("/api/v1/tickets/", complaint(), format="json")
    assert (refused.status_code, refused["Retry-After"]) == (429, "30")
    clock[0] += 60  # next window, half-way: the full previous window counts 10 x 0.5 = 5
    assert create(6) == [201] * 5 + [429]
    clock[0] += 120  # both windows past
    assert create(10) == [201] * 10
    assert Ticket.objects.count() == 25


# --- Attachments -------------------------------------------------------------------------


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (16, 16), **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "blue").save(buffer, format=fmt, **save)
    return buffer.getvalue()


def jpeg_with_metadata() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0132] = "2026:11:23 10:00:00"  # when it was taken
    return image_bytes("JPEG", exif=exif.tobytes())


def pixel_flood_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few bytes that declare a 900-megapixel image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def post_file(client: APIClient, number: str, name: str, content: bytes, kind: str) -> Any:
    upload = SimpleUploadedFile(name, content, content_type=kind)
    return client.post(
        f"/api/v1/tickets/{number}/messages/",
        {"body": "lampiran", "attachments": [upload]},
        format="multipart",
    )


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("resep.png", b"<html><script>alert(1)</script></html>", 415, "unsupported_type"),
        ("resep.png", b"%PDF-1.4\n1 0 obj<<>>endobj", 415, "type_mismatch"),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, 415, "unsupported_type"),
        (
            "gambar.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
            415,
            "unsupported_type",
        ),
        ("kosong.pdf", b"", 422, "empty"),
        (
            "aktif.pdf",
            b"%PDF-1.4\n1 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj",
            422,
            "active_content",
        ),
        ("banjir.png", pixel_flood_png(), 422, "too_many_pixels"),
    ],
)
def test_bad_attachments_are_refused_with_a_code_and_nothing_is_stored(
    sari: APIClient, category: Any, name: str, content: bytes, status: int, code: str
) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    response = post_file(sari, number, name, content, "image/png")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert "detail" in response.json()
    assert not Attachment.objects.exists()
    assert Message.objects.count() == 1  # only the complaint itself


def test_size_limit_is_exact(sari: APIClient, category: Any, settings: Any) -> None:
    content = b"%PDF-1.4\n" + b"0" * 1000
    settings.ADUAN_MAX_ATTACHMENT_BYTES = len(content)
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    exact = post_file(sari, number, "a.pdf", content, "application/pdf")
    over = post_file(sari, number, "b.pdf", content + b"0", "application/pdf")
    assert exact.status_code == 201
    assert (over.status_code, over.json()["code"], over.json()["limit"]) == (
        413,
        "too_large",
        len(content),
    )
    assert Attachment.objects.count() == 1


def test_photos_lose_their_location_metadata_and_keep_a_safe_name(
    sari: APIClient, category: Any
) -> None:
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    original = jpeg_with_metadata()
    assert Image.open(io.BytesIO(original)).getexif()  # the test photo does carry EXIF
    response = post_file(sari, number, "../../\u202efoto.jpg", original, "image/jpeg")
    assert response.status_code == 201
    stored = Attachment.objects.get()
    assert stored.original_name == "foto.jpg"
    with stored.file.open("rb") as f:
        assert not Image.open(io.BytesIO(f.read())).getexif()


# --- Query counts ------------------------------------------------------------------------


def count_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_queries_for_3_and_30_tickets(
    sari: APIClient, category: Any
) -> None:
    for _ in range(3):
        TicketFactory(citizen=sari.citizen)  # type: ignore[attr-defined]
    few = count_queries(sari, "/api/v1/tickets/")
    for _ in range(27):
        TicketFactory(citizen=sari.citizen, status="resolved")  # type: ignore[attr-defined]
    many = count_queries(sari, "/api/v1/tickets/?page_size=30")
    assert few == many <= 6


def test_the_detail_costs_the_same_queries_for_a_short_and_a_long_timeline(
    sari: APIClient, category: Any, agent: Any
) -> None:
    short = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    long = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    ticket = Ticket.objects.get(number=long)
    for i in range(15):
        services.post_message(ticket=ticket, body=f"pesan {i}", author_kind="agent", by=agent)
        post_file(sari, long, f"f{i}.png", image_bytes(), "image/png")
    services.transition_ticket(ticket=ticket, transition="triage", by=agent)
    assert (
        count_queries(sari, f"/api/v1/tickets/{short}/")
        == count_queries(sari, f"/api/v1/tickets/{long}/")
        <= 6
    )


# --- Schema and docs ---------------------------------------------------------------------


def test_the_schema_and_the_docs_are_served_without_any_cdn() -> None:
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    docs = client.get("/api/docs/")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/tickets/", "/api/v1/tickets/{number}/", "/api/v1/auth/token/"} <= set(paths)
    page = docs.content.decode()
    assert docs.status_code == 200 and "swagger" in page.lower()
    assert "cdn" not in page.lower() and "https://" not in page


def test_a_spoofed_forwarded_for_header_does_not_escape_the_lockout(sari: APIClient) -> None:
    client = APIClient()
    wrong = {"username": "sari@example.com", "password": "salah"}
    codes = [
        client.post(
            "/api/v1/auth/token/", wrong, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}"
        ).status_code
        for i in range(8)
    ]
    assert codes == [400] * 4 + [429] * 4


def test_the_lockout_ends_after_the_cool_off(sari: APIClient, settings: Any) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    client = APIClient()
    wrong = {"username": "sari@example.com", "password": "salah"}
    right = {"username": "sari@example.com", "password": "kata-sandi-panjang-123"}
    for _ in range(5):
        client.post("/api/v1/auth/token/", wrong, format="json")
    assert client.post("/api/v1/auth/token/", right, format="json").status_code == 429
    time.sleep(1.1)
    assert client.post("/api/v1/auth/token/", right, format="json").status_code == 200


def test_with_the_cache_unreachable_the_api_still_answers(
    sari: APIClient, category: Any, settings: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",  # as production configures it
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    created = sari.post("/api/v1/tickets/", complaint(), format="json")
    listed = sari.get("/api/v1/tickets/")
    assert (created.status_code, listed.status_code) == (201, 200)
    assert Ticket.objects.count() == 1


def test_upload_quotas_per_complaint_and_per_day(
    sari: APIClient, category: Any, settings: Any
) -> None:
    settings.ADUAN_MAX_ATTACHMENTS_PER_TICKET = 2
    number = sari.post("/api/v1/tickets/", complaint(), format="json").json()["number"]
    pdf = b"%PDF-1.4\n" + b"0" * 100
    codes = [
        post_file(sari, number, f"{i}.pdf", pdf, "application/pdf").status_code for i in range(3)
    ]
    assert codes == [201, 201, 413]

    settings.ADUAN_MAX_ATTACHMENTS_PER_TICKET = 50
    settings.ADUAN_MAX_UPLOAD_BYTES_PER_DAY = len(pdf) * 3
    other = sari.post("/api/v1/tickets/", complaint(subject="Lain"), format="json").json()["number"]
    third = post_file(sari, other, "c.pdf", pdf, "application/pdf")
    fourth = post_file(sari, other, "d.pdf", pdf, "application/pdf")
    assert third.status_code == 201
    assert (fourth.status_code, fourth.json()["code"]) == (413, "quota_exceeded")
    assert Attachment.objects.count() == 3
