"""Hostile mail (RELIABILITY T-i for email HTML, T-j for attachments): script payloads in
every part of a message are stored as text and never run where agents read them; files
are kept only if their bytes are what is allowed, and the rest is named, not stored."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from channels_ingest import mail
from complaints.choices import Direction
from complaints.models import Attachment, Message, Ticket
from tests.browser import browser_page, record_calls
from tests.email.conftest import Deliver, compose
from tests.servers import asgi_server, server_database_url
from tests.xss_payloads import PAYLOADS, SMOKE

DANGEROUS_TAGS = frozenset(
    [
        "script",
        "iframe",
        "object",
        "embed",
        "base",
        "meta",
        "form",
        "style",
        "link",
        "svg",
        "math",
        "frame",
        "frameset",
    ]
)


class _Markup(HTMLParser):
    """Every element and attribute of an HTML fragment, as a browser's tokenizer sees
    them (what text content says does not matter: it is not markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            scheme = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"{tag} {name}=")
            elif scheme.startswith(("javascript:", "vbscript:", "data:")):
                self.problems.append(f"{tag} {name}={value}")


def problems(html: str) -> list[str]:
    reader = _Markup()
    reader.feed(html)
    reader.close()
    return reader.problems


@pytest.mark.parametrize("key", list(PAYLOADS))
def test_html_bodies_are_sanitised_and_read_as_text(key: str) -> None:
    payload = PAYLOADS[key]
    parsed = mail.parse(compose(text=None, html=f"<p>Keluhan</p>{payload}<p>selesai</p>"))
    assert problems(parsed.html) == [], parsed.html
    assert "<" not in parsed.text.replace(payload, "") or "<" in payload
    assert "Keluhan" in parsed.text


@given(st.text(alphabet=st.sampled_from(list("<>/=\"' abcdijnoprstv:&#;()x")), max_size=200))
@hypothesis_settings(max_examples=300, deadline=None)
def test_the_sanitiser_never_lets_markup_through(fragment: str) -> None:
    html = mail.parse(compose(text=None, html=f"<div>{fragment}</div>")).html
    assert problems(html) == []


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nol.txt", b"\0" * 20_000_000)
    return out.getvalue()


def _pixel_flood() -> bytes:
    header = bytearray(_png())
    header[16:24] = (30_000).to_bytes(4, "big") + (30_000).to_bytes(4, "big")
    return bytes(header)


FILES = [
    ("foto.png", "image/png", _png(), True),
    ("surat.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n", True),
    ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\0" * 300, False),
    ("halaman.html", "text/html", b"<html><script>__xss('file')</script></html>", False),
    ("gambar.svg", "image/svg+xml", b"<svg onload=__xss('svg')></svg>", False),
    ("palsu.png", "image/png", b"<html><body>bukan gambar</body></html>", False),
    ("script.js", "application/javascript", b"__xss('js')", False),
    ("aktif.pdf", "application/pdf", b"%PDF-1.4\n/JavaScript (__xss)\n%%EOF\n", False),
    ("bom.zip", "application/zip", _zip_bomb(), False),
    ("banjir.png", "image/png", _pixel_flood(), False),
    ("\u202egpj.exe", "image/jpeg", b"MZ\x90\x00" + b"\0" * 300, False),
    ("../../etc/passwd.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n", True),
    ("kosong.pdf", "application/pdf", b"", False),
]


@pytest.mark.django_db
def test_attachments_are_kept_only_when_their_bytes_are_allowed(
    deliver: Deliver, settings: Any
) -> None:
    deliver(compose(attachments=[(n, t, c) for n, t, c, _ok in FILES]))
    message = Message.objects.get(direction=Direction.INBOUND)
    kept = sorted(a.original_name for a in message.attachments.all())
    assert kept == sorted(["foto.png", "surat.pdf", "passwd.pdf"])
    for name, _type, _content, ok in FILES:
        if not ok:
            assert "Lampiran tidak disimpan" in message.body
            assert name.rsplit("/", 1)[-1][:20] in message.body or name.startswith("\u202e")
    for attachment in Attachment.objects.all():
        assert "/" not in attachment.original_name and ".." not in attachment.file.name


@pytest.mark.django_db
def test_too_many_attachments_are_named_not_kept(deliver: Deliver, settings: Any) -> None:
    settings.ADUAN_EMAIL_MAX_FILES = 2
    files = [(f"f{i}.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n") for i in range(4)]
    deliver(compose(attachments=files))
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.attachments.count() == 2
    assert message.body.count("terlalu banyak lampiran") == 2


# --- In a real browser ------------------------------------------------------------------


@pytest.fixture
def admin_server(transactional_db: None) -> Iterator[str]:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
    }
    with asgi_server(env) as base:
        yield base


@pytest.mark.postgres
@pytest.mark.redis
def test_email_payloads_show_as_text_in_the_admin_and_never_run(
    admin_server: str, deliver: Deliver, supervisor: Any
) -> None:
    """T-i smoke for email: payloads in the subject, the sender's name, the text and HTML
    bodies and a file name, delivered through the parser, opened by an agent."""
    for number, payload in enumerate(SMOKE.values()):
        deliver(
            compose(
                sender=f'"{payload}" <warga{number}@surel.example>',
                subject=f"Keluhan {payload}",
                text=f"Teks {payload}",
                html=f"<p>Isi</p>{payload}",
                attachments=[(f"{payload}.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")],
            )
        )
    session = Client()
    session.force_login(supervisor)
    admin = f"{admin_server}/{settings.ADUAN_ADMIN_URL}"
    with browser_page(admin_server) as (page, traps):
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": admin_server,
                }
            ]
        )
        paths = ["complaints/ticket/", "complaints/citizen/"]
        paths += [
            f"complaints/ticket/{pk}/change/" for pk in Ticket.objects.values_list("pk", flat=True)
        ]
        for path in paths:
            response = page.goto(admin + path)
            assert response is not None and response.status == 200, path
            record_calls(page, traps)
        shown = page.locator("body").inner_text()
        traps.assert_clean()
    assert "Teks <" in shown  # the payload is there, as text
