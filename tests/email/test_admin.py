"""Supervisors see the mail inbox in the admin: headers as text, polling state per folder."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from channels_ingest.models import ChannelAccount, MailboxState
from tests.email.conftest import Deliver, compose

pytestmark = pytest.mark.django_db


def test_a_stored_mail_shows_its_headers_escaped(deliver: Deliver, admin_client: Client) -> None:
    delivery = deliver(compose(subject="<script>__xss('subject')</script> air mati"))
    page = admin_client.get(
        f"/{settings.ADUAN_ADMIN_URL}channels_ingest/delivery/{delivery.pk}/change/"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Subject: &lt;script&gt;__xss(&#x27;subject&#x27;)&lt;/script&gt; air mati" in html
    assert "<script>__xss" not in html


def test_the_mailbox_shows_where_polling_has_got_to(
    mailbox: ChannelAccount, admin_client: Client
) -> None:
    MailboxState.objects.create(account=mailbox, folder="INBOX", last_uid=42, last_error="")
    page = admin_client.get(
        f"/{settings.ADUAN_ADMIN_URL}channels_ingest/channelaccount/{mailbox.pk}/change/"
    )
    assert page.status_code == 200
    assert re.search(r"field-last_uid\">\s*<p>42</p>", page.content.decode())
