"""Channel accounts with the samples' test secrets, and the providers' APIs doubled at the
HTTP boundary (respx), answering the way REFERENCE.md documents."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from django.test import Client
from PIL import Image

from channels_ingest.models import ChannelAccount

SAMPLES = Path(__file__).parent / "samples"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text(encoding="utf-8"))
SECRETS = MANIFEST["test_secrets"]
# The samples' REFERENCE paths name a product; ours name a kind and an account.
KIND_OF = {
    "whatsapp": "whatsapp",
    "messenger": "messenger",
    "facebook_feed": "messenger",
    "instagram": "instagram",
    "x": "x",
    "telegram": "telegram",
}
ACCOUNTS = {
    "whatsapp": ("109876543210987", SECRETS["META_APP_SECRET"], "wa-access-token"),
    "messenger": ("112233445566778", SECRETS["META_APP_SECRET"], "page-access-token"),
    "instagram": ("17841400000000001", SECRETS["META_APP_SECRET"], "ig-access-token"),
    "x": ("1500000000000000001", SECRETS["X_CONSUMER_SECRET"], "x-user-token"),
    "telegram": ("123456789", SECRETS["TELEGRAM_SECRET_TOKEN"], SECRETS["TELEGRAM_BOT_TOKEN"]),
}
BASES = {
    "WHATSAPP_API_BASE": "http://whatsapp.provider.test",
    "META_GRAPH_API_BASE": "http://graph.provider.test",
    "TELEGRAM_API_BASE": "http://telegram.provider.test",
    "X_API_BASE": "http://x.provider.test",
}


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def webhook_path(kind: str) -> str:
    return f"/webhooks/{kind}/uji/"


@pytest.fixture
def accounts(db: None) -> dict[str, ChannelAccount]:
    return {
        kind: ChannelAccount.objects.create(
            kind=kind,
            slug="uji",
            name=f"Uji {kind}",
            address=address,
            webhook_secret=secret,
            verify_token=SECRETS["META_VERIFY_TOKEN"],
            access_token=token,
        )
        for kind, (address, secret, token) in ACCOUNTS.items()
    }


@pytest.fixture
def provider(settings: Any) -> Iterator[respx.MockRouter]:
    """Every provider API the product calls, answering success with fresh ids."""
    for name, base in BASES.items():
        setattr(settings, name, base)
    ids = itertools.count(1)
    with respx.mock(assert_all_called=False) as router:
        router.post(
            url__regex=r"http://whatsapp\.provider\.test/v[\d.]+/\d+/messages", name="whatsapp"
        ).mock(
            side_effect=lambda request: httpx.Response(
                200, json={"messages": [{"id": f"wamid.OUT{next(ids)}"}]}
            )
        )
        router.post(url__regex=r"http://graph\.provider\.test/v[\d.]+/\d+/messages").mock(
            side_effect=lambda request: httpx.Response(
                200, json={"recipient_id": "x", "message_id": f"m_OUT{next(ids)}"}
            )
        )
        router.post(
            url__regex=r"http://graph\.provider\.test/v[\d.]+/[\d_]+/(comments|replies)"
        ).mock(side_effect=lambda request: httpx.Response(200, json={"id": f"reply{next(ids)}"}))
        router.post("http://x.provider.test/2/tweets").mock(
            side_effect=lambda request: httpx.Response(
                201, json={"data": {"id": f"19{next(ids)}", "text": "ok"}}
            )
        )
        router.post(
            url__regex=r"http://x\.provider\.test/2/dm_conversations/with/\d+/messages"
        ).mock(
            side_effect=lambda request: httpx.Response(
                201, json={"data": {"dm_conversation_id": "c", "dm_event_id": f"18{next(ids)}"}}
            )
        )
        router.post(url__regex=r"http://telegram\.provider\.test/bot.+/sendMessage").mock(
            side_effect=lambda request: httpx.Response(
                200,
                json={
                    "ok": True,
                    "result": {
                        "message_id": 1000 + next(ids),
                        "chat": {"id": json.loads(request.content)["chat_id"]},
                    },
                },
            )
        )
        _media_routes(router)
        yield router


def jpeg(colour: str = "red") -> bytes:
    """A real (tiny) JPEG, as a phone would send."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="JPEG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _media_routes(router: respx.MockRouter) -> None:
    """Media as the providers serve it (REFERENCE 1.7, 4.5; Meta CDN URLs in payloads)."""
    photo = jpeg()
    router.get(
        url__regex=r"http://whatsapp\.provider\.test/v[\d.]+/\d+$", name="wa-media-info"
    ).mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={
                "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid="
                + request.url.path.rsplit("/", 1)[-1],
                "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(photo).hexdigest(),
                "file_size": len(photo),
                "messaging_product": "whatsapp",
            },
        )
    )
    router.get(url__startswith="https://lookaside.fbsbx.com/", name="wa-media-file").mock(
        return_value=httpx.Response(200, content=photo, headers={"Content-Type": "image/jpeg"})
    )
    router.get(
        url__regex=r"http://telegram\.provider\.test/bot[^/]+/getFile", name="tg-getfile"
    ).mock(
        side_effect=lambda request: httpx.Response(
            200,
            json={
                "ok": True,
                "result": {
                    "file_id": request.url.params["file_id"],
                    "file_path": "photos/file_12.jpg",
                },
            },
        )
    )
    router.get(url__regex=r"http://telegram\.provider\.test/file/bot[^/]+/", name="tg-file").mock(
        return_value=httpx.Response(200, content=photo)
    )
    router.get(url__regex=r"https://[a-z0-9.-]+\.fbcdn\.net/", name="cdn").mock(
        return_value=httpx.Response(200, content=photo)
    )


class Deliver:
    """Posts deliveries as the provider would and runs what they queue after commit."""

    def __init__(self, client: Client, capture: Any) -> None:
        self.client, self.capture = client, capture

    def __call__(self, kind: str, body: bytes, headers: dict[str, str]) -> Any:
        with self.capture(execute=True):
            return self.client.post(
                webhook_path(kind), data=body, content_type="application/json", headers=headers
            )

    def case(self, case_id: str) -> Any:
        """A MANIFEST case, sent exactly as listed (file bytes, headers)."""
        case = next(c for c in MANIFEST["cases"] if c["id"] == case_id)
        kind = KIND_OF[case["channel"]]
        return self(kind, sample(case["file"]), case["request"].get("headers", {}))


@pytest.fixture
def deliver(client: Client, django_capture_on_commit_callbacks: Any) -> Deliver:
    return Deliver(client, django_capture_on_commit_callbacks)
