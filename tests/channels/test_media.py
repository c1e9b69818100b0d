"""Citizens' files, fetched from the provider right after the message is stored: through
the provider's API with the account's token, only from the provider's hosts, checked like
uploads, retried when the provider stumbles, and never blocking the message itself."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from django.utils import timezone

from channels_ingest.models import Delivery
from channels_ingest.tasks import sweep_channels
from complaints.models import Attachment, Message
from tests.channels.conftest import PDF, jpeg

pytestmark = pytest.mark.django_db


def _only_message() -> Message:
    return Message.objects.get(direction="inbound")


def test_a_whatsapp_photo_is_fetched_with_the_token_and_attached(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("wa-image")

    attachment = Attachment.objects.get()
    assert attachment.message == _only_message()
    assert attachment.content_type == "image/jpeg"
    assert attachment.original_name == "attachment.jpg"
    info, file = provider["wa-media-info"], provider["wa-media-file"]
    assert info.call_count == file.call_count == 1
    assert info.calls.last.request.url.path == "/v24.0/1384729384756123"
    for route in (info, file):
        assert route.calls.last.request.headers["Authorization"] == "Bearer wa-access-token"
    assert not Delivery.objects.get(message__isnull=False).media_pending


def test_a_whatsapp_document_keeps_its_name(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    provider["wa-media-file"].mock(return_value=httpx.Response(200, content=PDF))
    provider["wa-media-info"].mock(
        return_value=httpx.Response(
            200,
            json={
                "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=9",
                "sha256": hashlib.sha256(PDF).hexdigest(),
            },
        )
    )

    deliver.case("wa-document")

    attachment = Attachment.objects.get()
    assert attachment.original_name == "Surat_Keterangan_Isoman_2026-02-28.pdf"
    assert attachment.content_type == "application/pdf"


def test_telegram_and_messenger_files(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("tg-photo")
    deliver.case("ms-image")

    assert Attachment.objects.count() == 2
    getfile = provider["tg-getfile"].calls.last.request
    assert getfile.url.params["file_id"].endswith("besar")  # the largest size
    assert provider["tg-file"].calls.last.request.url.path.endswith("/photos/file_12.jpg")
    assert provider["cdn"].calls.last.request.url.host == "scontent.xx.fbcdn.net"


def test_a_url_off_the_providers_hosts_is_never_fetched(
    deliver: Any, accounts: Any, provider: respx.MockRouter, caplog: Any
) -> None:
    metadata = provider.get("http://169.254.169.254/latest/meta-data/", name="metadata")
    provider["wa-media-info"].mock(
        return_value=httpx.Response(200, json={"url": "http://169.254.169.254/latest/meta-data/"})
    )

    deliver.case("wa-image")

    assert not metadata.called
    assert not Attachment.objects.exists()
    message = _only_message()  # the complaint itself is there, with the file's mention
    assert "[Lampiran image" in message.body
    delivery = Delivery.objects.get(message=message)
    assert not delivery.media_pending
    assert "refused" in delivery.last_error
    assert "fetch refused" in caplog.text


def test_a_file_that_is_not_what_it_claims_is_left_out(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    provider["wa-media-file"].mock(
        return_value=httpx.Response(200, content=b"<html><script>alert(1)</script></html>")
    )
    provider["wa-media-info"].mock(
        return_value=httpx.Response(200, json={"url": "https://lookaside.fbsbx.com/x"})
    )

    deliver.case("wa-image")

    assert not Attachment.objects.exists()
    assert "only" in Delivery.objects.get(message__isnull=False).last_error


def test_a_digest_mismatch_is_left_out(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    provider["wa-media-info"].mock(
        return_value=httpx.Response(
            200,
            json={
                "url": "https://lookaside.fbsbx.com/x",
                "sha256": hashlib.sha256(b"x").hexdigest(),
            },
        )
    )

    deliver.case("wa-image")

    assert not Attachment.objects.exists()
    assert "digest" in Delivery.objects.get(message__isnull=False).last_error


def test_a_provider_outage_is_retried_by_the_sweep(
    deliver: Any, accounts: Any, provider: respx.MockRouter
) -> None:
    provider["wa-media-info"].mock(return_value=httpx.Response(503))

    deliver.case("wa-image")

    delivery = Delivery.objects.get(message__isnull=False)
    assert delivery.media_pending
    assert delivery.media_attempts == 1
    assert delivery.next_attempt_at is not None
    assert _only_message().ticket.number  # the complaint was numbered regardless
    assert sweep_channels() == {"deliveries": 0, "resent": 0, "media": 0}  # not due yet

    provider["wa-media-info"].mock(
        return_value=httpx.Response(200, json={"url": "https://lookaside.fbsbx.com/x"})
    )
    provider["wa-media-file"].mock(return_value=httpx.Response(200, content=jpeg("blue")))
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert sweep_channels()["media"] == 1

    delivery.refresh_from_db()
    assert not delivery.media_pending
    assert Attachment.objects.get().message == _only_message()
    assert sweep_channels()["media"] == 0  # and once only
