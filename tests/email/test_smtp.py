"""The SMTP receiver (`manage.py runsmtpd`) as a mail server talks to it: real SMTP over
a loopback socket (smtplib), storing into the test database before it answers 250."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from channels_ingest import services
from channels_ingest.models import ChannelAccount, Delivery
from complaints.models import Message, Ticket
from tests.email.conftest import ADDRESS, compose, sample
from tests.servers import ROOT, free_port, server_database_url

pytestmark = [pytest.mark.postgres]

MAX_BYTES = 200_000


@pytest.fixture
def smtp_port(transactional_db: None) -> Iterator[int]:
    ChannelAccount.objects.create(
        kind="email",
        slug="uji",
        name="Layanan Pengaduan",
        address=ADDRESS,
        settings={"aliases": ["keluhan@pengaduan.kotabaru.example"]},
    )
    port = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "ADUAN_EMAIL_MAX_BYTES": str(MAX_BYTES),
        "ADUAN_INGEST_WAKE_SECONDS": "3600",  # no worker here: the mail stays pending
    }
    env.pop("REDIS_URL", None)
    command = [sys.executable, "manage.py", "runsmtpd", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        _wait_for(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("runsmtpd exited")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                client.noop()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("runsmtpd did not start")


def send(port: int, raw: bytes, to: list[str], sender: str = "siti@surel.example") -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, to, raw)


def test_mail_for_a_mailbox_is_stored_before_250_and_then_processed(smtp_port: int) -> None:
    refused = send(smtp_port, sample("email_new_complaint.eml"), [ADDRESS])
    assert refused == {}
    # 250 came back: the row is committed, whatever happens to the receiver now.
    [delivery] = Delivery.objects.all()
    assert delivery.event["via"] == "smtp"
    assert delivery.event["mail_from"] == "siti@surel.example"
    assert bytes(delivery.raw) == sample("email_new_complaint.eml")
    services.process_due()
    assert Ticket.objects.get().citizen.email == "andi.pratama@surel.example"


def test_plus_addresses_and_aliases_are_taken_others_refused(smtp_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("siti@surel.example")
        assert client.rcpt("orang@lain.example")[0] == 550
        assert client.rcpt("PENGADUAN+ADU-2612-7K3QX9@pengaduan.kotabaru.example")[0] == 250
        assert client.rcpt("keluhan@pengaduan.kotabaru.example")[0] == 250
        code, _reply = client.data(compose(to="keluhan@pengaduan.kotabaru.example"))
        assert code == 250
    [delivery] = Delivery.objects.all()
    assert len(delivery.event["rcpt_to"]) == 2


def test_no_recipient_of_ours_means_nothing_stored(smtp_port: int) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp_port, compose(), ["orang@lain.example"])
    assert not Delivery.objects.exists()


def test_mail_over_the_size_limit_is_refused_and_nothing_stored(smtp_port: int) -> None:
    big = compose(attachments=[("besar.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * MAX_BYTES)])
    with pytest.raises(smtplib.SMTPException) as refused:
        send(smtp_port, big, [ADDRESS])
    assert "552" in str(refused.value) or getattr(refused.value, "smtp_code", 0) == 552
    assert not Delivery.objects.exists()
    assert send(smtp_port, compose(), [ADDRESS]) == {}  # the receiver goes on


def test_the_same_mail_ten_times_concurrently_is_one_message(smtp_port: int) -> None:
    """T-a for email: the same Message-ID ten times, once with its headers folded again."""
    raw = sample("email_new_complaint.eml")
    refolded = raw.replace(b"Subject: =?UTF-8?Q?", b"Subject:\r\n =?UTF-8?Q?", 1).replace(
        b"Received: ",
        b"Received: from relay2.example by mx2.example; \r\n\tWed, 4 Mar 2026\r\nReceived: ",
        1,
    )
    copies = [raw] * 9 + [refolded]
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda body: send(smtp_port, body, [ADDRESS]), copies))
    assert answers == [{}] * 10  # every copy accepted: the sender stops retrying
    assert Delivery.objects.count() == 1
    services.process_due()
    assert Message.objects.filter(external_id="CAF3uji7h2K+9qWm4T@mail.surel.example").count() == 1
    assert Ticket.objects.count() == 1


def test_a_bounce_from_the_null_sender_is_taken_and_never_answered(smtp_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        assert client.mail("<>")[0] == 250
        assert client.rcpt(ADDRESS)[0] == 250
        assert client.data(sample("email_bounce_dsn.eml"))[0] == 250
    [delivery] = Delivery.objects.all()
    assert delivery.event["mail_from"] == ""
    services.process_due()
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.IGNORED  # a bounce for no message of ours
    assert not Ticket.objects.exists()
