"""Awkward mail as real clients and servers send it: every message lands as SPEC says,
none crashes the pipeline, none is lost (each ends processed or, for automatic mail,
kept in the inbox with its reason)."""

from __future__ import annotations

import base64

import pytest
from django.core import mail as outbox

from channels_ingest.models import Delivery
from complaints.choices import Direction
from complaints.models import Message, Ticket
from tests.email.conftest import ADDRESS, Deliver, compose, sample

pytestmark = pytest.mark.django_db

HEAD = (
    "From: Siti Aminah <siti@surel.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
    "Message-ID: <{mid}@surel.example>\r\nMIME-Version: 1.0\r\n"
)


def raw(mid: str, headers: str, body: bytes, subject: str = "Keluhan") -> bytes:
    head = HEAD.format(to=ADDRESS, subject=subject, mid=mid)
    return head.encode() + headers.encode() + b"\r\n" + body


CORPUS: dict[str, tuple[bytes, str]] = {
    # name: (raw message, text the stored message must contain; "" = no ticket)
    "latin1-label-with-cp1252-quotes": (
        raw(
            "latin1",
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n",
            b"Air \x93keruh\x94 \x96 sejak Senin, caf\xe9 tutup.\r\n",
        ),
        "Air \u201ckeruh\u201d \u2013 sejak Senin, caf\u00e9 tutup.",
    ),
    "encoded-word-subject-b-and-q": (
        raw(
            "words",
            "Content-Type: text/plain; charset=utf-8\r\n",
            b"Isi keluhan.\r\n",
            subject="=?ISO-8859-1?B?Q2Fm6Q==?= =?UTF-8?Q?_=E2=80=93_jalan_rusak?=",
        ),
        "Isi keluhan.",
    ),
    "raw-utf8-headers": (
        "From: Ñoño Pérez <nono@surel.example>\r\nTo: pengaduan@pengaduan.kotabaru.example\r\n"
        "Subject: Jalan berlubang — mohon ditindak\r\nMessage-ID: <utf8hdr@surel.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nLubang besar di depan pasar.\r\n".encode(),
        "Lubang besar di depan pasar.",
    ),
    "unknown-charset-label": (
        raw("x-unknown", "Content-Type: text/plain; charset=x-unknown\r\n", "Ruwet ✓\r\n".encode()),
        "Ruwet \u2713",
    ),
    "bogus-charset-label": (
        raw("utf69", "Content-Type: text/plain; charset=utf-69\r\n", b"Harga \x80 50\r\n"),
        "Harga \u20ac 50",
    ),
    "no-message-id": (
        b"From: budi@surel.example\r\nTo: pengaduan@pengaduan.kotabaru.example\r\n"
        b"Subject: Tanpa id\r\nDate: Wed, 2 Dec 2026 10:00:00 +0700\r\n\r\nLampu jalan mati.\r\n",
        "Lampu jalan mati.",
    ),
    "broken-base64": (
        raw(
            "b64",
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
            base64.b64encode(b"Sampah menumpuk.")[:-3] + b"!!\r\n",
        ),
        "Sampah",
    ),
    "unterminated-multipart": (
        raw(
            "unterminated",
            'Content-Type: multipart/mixed; boundary="B"\r\n',
            b"--B\r\nContent-Type: text/plain\r\n\r\nBatas tidak ditutup.\r\n",
        ),
        "Batas tidak ditutup.",
    ),
    "html-only-with-script-and-gmail-quote": (
        raw(
            "html",
            "Content-Type: text/html; charset=utf-8\r\n",
            b"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
            b"<p>Pohon tumbang&nbsp;di <b>Jl. Kenanga</b>.</p><div class=gmail_quote>"
            b"<div class=gmail_attr>On Mon, Budi wrote:</div><blockquote>lama</blockquote>"
            b"</div></body></html>",
        ),
        "Pohon tumbang di Jl. Kenanga.",
    ),
    "forwarded-message": (
        raw(
            "fwd",
            'Content-Type: multipart/mixed; boundary="F"\r\n',
            b"--F\r\nContent-Type: text/plain\r\n\r\nSaya teruskan keluhan tetangga.\r\n"
            b"--F\r\nContent-Type: message/rfc822\r\n\r\nFrom: tetangga@surel.example\r\n"
            b"Subject: Banjir\r\n\r\nRumah kebanjiran.\r\n--F--\r\n",
        ),
        "Saya teruskan keluhan tetangga.",
    ),
    "rfc2231-filename": (
        raw(
            "rfc2231",
            'Content-Type: multipart/mixed; boundary="R"\r\n',
            b"--R\r\nContent-Type: text/plain\r\n\r\nBukti terlampir.\r\n--R\r\n"
            b"Content-Type: application/pdf\r\n"
            b"Content-Disposition: attachment;\r\n"
            b" filename*=utf-8''bukti%20pembayaran%E2%80%93maret.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.b64encode(b"%PDF-1.4\n%%EOF\n")
            + b"\r\n--R--\r\n",
        ),
        "Bukti terlampir.",
    ),
    "outlook-text-reply-block": (
        raw(
            "outlook",
            "Content-Type: text/plain; charset=utf-8\r\n",
            b"Masih belum diperbaiki.\r\n\r\n________________________________\r\n"
            b"Dari: Layanan Pengaduan <pengaduan@pengaduan.kotabaru.example>\r\n"
            b"Dikirim: Senin, 1 Desember 2026 09.00\r\nKepada: Siti\r\n"
            b"Subjek: Keluhan\r\n\r\nlama\r\n",
        ),
        "Masih belum diperbaiki.",
    ),
    "english-gmail-reply": (
        raw(
            "gmail-en",
            "Content-Type: text/plain; charset=utf-8\r\n",
            b"Still broken.\r\n\r\nOn Mon, 1 Dec 2026 at 09:00, Layanan Pengaduan <\r\n"
            b"pengaduan@pengaduan.kotabaru.example> wrote:\r\n\r\n> old text\r\n",
        ),
        "Still broken.",
    ),
    "empty-body": (raw("empty", "Content-Type: text/plain\r\n", b""), "(email tanpa teks)"),
    "attachment-only": (
        compose(
            text=None,
            message_id="<attonly@surel.example>",
            attachments=[("surat.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")],
        ),
        "(email tanpa teks)",
    ),
    "very-long-header": (
        raw("long", "X-Panjang: " + "a" * 20_000 + "\r\n", b"Header panjang.\r\n"),
        "Header panjang.",
    ),
    "nul-bytes": (
        raw("nul", "Content-Type: text/plain\r\n", b"Ada\x00 NUL.\r\n"),
        "Ada\ufffd NUL.",
    ),
    "no-sender-address": (
        b"From: undisclosed\r\nTo: pengaduan@pengaduan.kotabaru.example\r\nSubject: x\r\n"
        b"Message-ID: <nofrom@surel.example>\r\n\r\nTanpa alamat.\r\n",
        "",
    ),
    "read-receipt": (
        raw(
            "mdn",
            "Content-Type: multipart/report; report-type=disposition-notification;\r\n"
            ' boundary="M"\r\n',
            b"--M\r\nContent-Type: text/plain\r\n\r\nDibaca.\r\n--M--\r\n",
        ),
        "",
    ),
    "sample-outlook-windows-1252": (
        sample("email_outlook_html_windows1252.eml"),
        "\u201cputus-nyambung\u201d",
    ),
    "sample-new-complaint": (sample("email_new_complaint.eml"), "rekam medis ayah saya"),
    "sample-reply": (sample("email_reply_threaded.eml"), "Saya juga sudah menelepon"),
    "sample-autoreply": (sample("email_autoreply_ooo.eml"), ""),
    "sample-bounce": (sample("email_bounce_dsn.eml"), ""),
    "sample-bulk": (sample("email_mailing_list_bulk.eml"), ""),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_each_message_lands_and_none_is_lost(deliver: Deliver, name: str) -> None:
    message_bytes, expected = CORPUS[name]
    delivery = deliver(message_bytes)
    assert delivery.state != Delivery.State.FAILED, delivery.last_error
    assert bytes(delivery.raw) == message_bytes  # the original, always
    if expected:
        assert delivery.state == Delivery.State.PROCESSED
        message = Message.objects.get(pk=delivery.message_id)
        assert message.direction == Direction.INBOUND
        assert expected in message.body
        assert len(outbox.outbox) == 1  # numbered and acknowledged
    else:
        assert delivery.state == Delivery.State.IGNORED and delivery.last_error
        assert not Ticket.objects.exists() and not outbox.outbox


def test_subjects_decode_from_encoded_words(deliver: Deliver) -> None:
    deliver(CORPUS["encoded-word-subject-b-and-q"][0])
    assert Ticket.objects.get().subject == "Caf\u00e9 \u2013 jalan rusak"


def test_a_forwarded_message_is_shown_with_its_text(deliver: Deliver) -> None:
    deliver(CORPUS["forwarded-message"][0])
    body = Message.objects.get(direction=Direction.INBOUND).body
    assert "[Pesan terusan dari tetangga@surel.example: Banjir]\nRumah kebanjiran." in body


def test_rfc2231_filenames_decode(deliver: Deliver) -> None:
    deliver(CORPUS["rfc2231-filename"][0])
    [attachment] = Message.objects.get(direction=Direction.INBOUND).attachments.all()
    assert attachment.original_name == "bukti pembayaran\u2013maret.pdf"


def test_mail_without_a_message_id_is_still_stored_once(deliver: Deliver) -> None:
    deliver(CORPUS["no-message-id"][0])
    deliver(CORPUS["no-message-id"][0])
    assert Delivery.objects.count() == 1
    assert Delivery.objects.get().external_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (b"=?UTF-8?B?w5Fvw7FvIFDDqXJleg==?= <nono@surel.example>", "\u00d1o\u00f1o P\u00e9rez"),
        (b'"=?ISO-8859-1?Q?Ren=E9?= Lubis" <rene@surel.example>', "Ren\u00e9 Lubis"),
        ("\u00d1o\u00f1o P\u00e9rez <nono@surel.example>".encode(), "\u00d1o\u00f1o P\u00e9rez"),
    ],
)
def test_sender_names_decode(deliver: Deliver, header: bytes, name: str) -> None:
    message = b"From: " + header + b"\r\nTo: " + ADDRESS.encode() + b"\r\nSubject: x\r\n"
    deliver(message + b"Message-ID: <nama@surel.example>\r\n\r\nIsi.\r\n")
    assert Ticket.objects.get().citizen.name == name
