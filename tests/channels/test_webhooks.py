"""Every chat and social sample through the real webhook, end to end: verified, stored,
numbered, acknowledged on the same channel; forged deliveries change nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import respx
from django.test import Client

from channels_ingest.models import ChannelAccount, Delivery
from complaints.choices import DeliveryStatus, Direction
from complaints.models import Message, Ticket
from tests.channels.conftest import KIND_OF, MANIFEST, Deliver, sample, webhook_path

pytestmark = pytest.mark.django_db
CHAT_CHANNELS = set(KIND_OF)
NUMBER = r"ADU-\d{4}-[0-9A-Z]{6}"


def cases(method: str, status: int | None = None) -> list[dict[str, Any]]:
    return [
        c
        for c in MANIFEST["cases"]
        if c["channel"] in CHAT_CHANNELS
        and c["request"]["method"] == method
        and (status is None or c["expect"]["status"] == status)
    ]


@pytest.mark.parametrize("case", cases("POST"), ids=lambda c: c["id"])
def test_every_sample_gets_the_documented_answer(
    case: dict[str, Any], deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    response = deliver.case(case["id"])
    assert response.status_code == case["expect"]["status"], response.content
    if response.status_code == 403:
        assert not Delivery.objects.exists()
        assert not Message.objects.exists()
    else:
        assert Delivery.objects.exists()
        assert not Delivery.objects.filter(state=Delivery.State.PENDING).exists()


@pytest.mark.parametrize("case", cases("GET"), ids=lambda c: c["id"])
def test_handshakes(case: dict[str, Any], client: Client, accounts: Any) -> None:
    kind = KIND_OF[case["channel"]]
    response = client.get(webhook_path(kind), case["request"]["query"])
    expect = case["expect"]
    assert response.status_code == expect["status"]
    if "body" in expect:
        assert response.content.decode() == expect["body"]
        assert response["Content-Type"].startswith("text/plain")
    if "json" in expect:
        assert response.json() == expect["json"]


def test_a_whatsapp_complaint_is_numbered_and_answered_with_its_number(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    assert deliver.case("wa-text").status_code == 200

    ticket = Ticket.objects.get()
    inbound = ticket.messages.get(direction=Direction.INBOUND)
    assert inbound.external_id.startswith("wamid.HBgN")
    assert "\U0001f64f" in inbound.body  # the escaped emoji, decoded
    assert ticket.citizen.phone == "+6281200000001"
    assert ticket.channel_account == accounts["whatsapp"]
    ack = ticket.messages.get(direction=Direction.OUTBOUND)
    assert (ack.delivery_status, ack.external_id) == (DeliveryStatus.SENT, "wamid.OUT1")
    assert ticket.number in ack.body
    sent = json.loads(provider.calls.last.request.content)
    assert sent["to"] == "6281200000001"
    assert sent["context"] == {"message_id": inbound.external_id}
    assert ticket.number in sent["text"]["body"]
    assert provider.calls.last.request.headers["Authorization"] == "Bearer wa-access-token"


def test_redelivery_changes_nothing(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    for case in ("wa-text", "wa-text-redelivered", "wa-text", "ms-text", "ms-text-redelivered"):
        assert deliver.case(case).status_code == 200
    for case in ("x-dm", "x-dm-redelivered", "tg-text", "tg-text-redelivered"):
        assert deliver.case(case).status_code == 200
    assert Ticket.objects.count() == 4
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 4
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 4  # one ack each
    assert len(provider.calls) == 4


def test_the_next_message_from_the_same_sender_joins_their_open_ticket(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("wa-text")
    deliver.case("wa-image")
    deliver.case("wa-location")
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(direction=Direction.INBOUND).count() == 3
    assert ticket.messages.filter(direction=Direction.OUTBOUND).count() == 1  # acknowledged once
    image = ticket.messages.get(external_id__contains="wamid", body__contains="resep")
    assert "[Lampiran image" in image.body


def test_a_location_opens_a_ticket_with_coordinates(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("tg-location")
    ticket = Ticket.objects.get()
    assert (ticket.latitude, ticket.longitude) == (Decimal("-6.595038"), Decimal("106.816635"))


def test_status_callbacks_move_forward_only_and_failures_are_kept(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("wa-text")
    ack = Message.objects.get(direction=Direction.OUTBOUND)
    ours = "wamid.HBgNNjI4MTIwMDAwMDAwMRUCABEYEjJDNEQ1RTZGNzA4MTkyQTNCNAA="
    Message.objects.filter(pk=ack.pk).update(external_id=ours)

    deliver.case("wa-statuses")  # sent, delivered, read in one batch
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.READ

    failed = json.loads(sample("whatsapp_status_failed.json"))["entry"][0]["changes"][0]
    failed_id = failed["value"]["statuses"][0]["id"]
    Message.objects.filter(pk=ack.pk).update(external_id=failed_id)
    deliver.case("wa-status-failed")
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.FAILED
    assert "131047" in ack.delivery_error


def test_messenger_watermarks_mark_what_was_sent_before_them(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("ms-text")
    ack = Message.objects.get(direction=Direction.OUTBOUND)
    assert ack.delivery_status == DeliveryStatus.SENT
    Message.objects.filter(pk=ack.pk).update(created_at="2026-03-03T12:00:00Z")  # before both
    deliver.case("ms-delivery-read")
    ack.refresh_from_db()
    assert ack.delivery_status == DeliveryStatus.READ


def test_public_comments_get_a_public_answer_without_details_and_edits_update(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("fb-feed-comment")
    ticket = Ticket.objects.get()
    comment = ticket.messages.get(direction=Direction.INBOUND)
    assert comment.is_public
    reply = provider.calls.last.request
    assert reply.url.path.endswith(f"/{comment.external_id}/comments")
    answer = json.loads(reply.content)["message"]
    assert ticket.number in answer and "pribadi" in answer

    deliver.case("fb-feed-comment-edited")
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    comment.refresh_from_db()
    edited = json.loads(sample("facebook_feed_comment_edited.json"))
    assert comment.body == edited["entry"][0]["changes"][0]["value"]["message"]


def test_instagram_and_x_public_posts_are_answered_in_public(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("ig-comment")
    assert provider.calls.last.request.url.path.endswith("/17998877665544332/replies")
    deliver.case("x-mention")
    tweet = json.loads(provider.calls.last.request.content)
    assert tweet["reply"] == {"in_reply_to_tweet_id": "1897000000000000777"}
    mention = Message.objects.get(external_id="1897000000000000777")
    assert mention.is_public and "#gangguansinyal" in mention.body  # the full text, not cut


def test_direct_messages_are_answered_in_private(
    deliver: Deliver, accounts: Any, provider: respx.MockRouter
) -> None:
    deliver.case("x-dm")
    assert (
        provider.calls.last.request.url.path
        == "/2/dm_conversations/with/1400000000000000123/messages"
    )
    deliver.case("ig-dm")
    sent = json.loads(provider.calls.last.request.content)
    assert sent["recipient"] == {"id": "6543210987654321"}
    deliver.case("tg-text")
    sent = json.loads(provider.calls.last.request.content)
    assert sent["chat_id"] == 5123456789
    assert sent["reply_parameters"]["message_id"] == 311
    assert not Message.objects.filter(is_public=True).exists()


def test_an_account_without_its_secret_refuses_everything(
    deliver: Deliver, accounts: dict[str, ChannelAccount]
) -> None:
    ChannelAccount.objects.filter(kind="whatsapp").update(webhook_secret="")
    response = deliver.case("wa-text")
    assert response.status_code == 503
    assert not Delivery.objects.exists()


def test_unknown_accounts_and_kinds_are_404(client: Client, accounts: Any) -> None:
    body = sample("whatsapp_text.json")
    for path in ("/webhooks/whatsapp/lain/", "/webhooks/email/uji/", "/webhooks/sms/uji/"):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    ChannelAccount.objects.filter(kind="whatsapp").update(is_active=False)
    assert (
        client.post(
            "/webhooks/whatsapp/uji/", data=body, content_type="application/json"
        ).status_code
        == 404
    )
