"""Citizens' photos, documents and voice notes, fetched from the provider that holds them.

WhatsApp gives a media id (exchanged for a short-lived URL, fetched with the token),
Telegram a file id (exchanged for a file path), Messenger and Instagram a CDN URL. Every
fetch goes through `complaints.fetch` (host allowlist, vetted and pinned addresses), and
every file through the same content checks as uploads from the app.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from channels_ingest.models import ChannelAccount
from channels_ingest.parsers import Media
from complaints.api.errors import UploadRejected
from complaints.api.uploads import ALLOWED, check_content
from complaints.choices import Channel
from complaints.fetch import FetchRefused, fetch
from complaints.services import NewAttachment

# What arrives on chat channels besides photos and PDFs: voice notes and short videos.
CHANNEL_ALLOWED: dict[str, frozenset[str]] = {
    **ALLOWED,
    "audio/ogg": frozenset({".ogg", ".oga", ".opus"}),
    "audio/mpeg": frozenset({".mp3"}),
    "audio/mp4": frozenset({".m4a", ".mp4"}),
    "audio/amr": frozenset({".amr"}),
    "video/mp4": frozenset({".mp4"}),
    "video/3gpp": frozenset({".3gp"}),
}
# Where the providers serve media from (REFERENCE 1.7, 2.x): a suffix matches subdomains.
META_MEDIA_HOSTS = ("lookaside.fbsbx.com", ".fbsbx.com", ".fbcdn.net", ".cdninstagram.com")
SAFE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
SAFE_PATH = re.compile(r"[A-Za-z0-9_./-]{1,300}")


class MediaUnavailable(Exception):
    """The file cannot be had or kept (gone, refused, wrong type); retrying will not help."""


def download(account: ChannelAccount, media: Media) -> NewAttachment:
    """The checked file, or MediaUnavailable; `complaints.fetch.FetchFailed` is transient."""
    fetcher = {
        Channel.WHATSAPP: _whatsapp,
        Channel.TELEGRAM: _telegram,
        Channel.MESSENGER: _meta_cdn,
        Channel.INSTAGRAM: _meta_cdn,
    }.get(Channel(account.kind))
    if fetcher is None:
        raise MediaUnavailable(f"{account.get_kind_display()} media are not fetched")
    try:
        content = fetcher(account, media)
        return check_content(media.name, content, CHANNEL_ALLOWED)
    except FetchRefused as exc:
        raise MediaUnavailable(f"fetch refused: {exc}") from exc
    except UploadRejected as exc:
        raise MediaUnavailable(str(exc.detail)) from exc


def _limit() -> int:
    return int(settings.ADUAN_MAX_ATTACHMENT_BYTES)


def _host(base: str) -> str:
    return urlsplit(base).hostname or ""


def _whatsapp(account: ChannelAccount, media: Media) -> bytes:
    if not SAFE_ID.fullmatch(media.ref):
        raise MediaUnavailable("not a WhatsApp media id")
    base = settings.WHATSAPP_API_BASE.rstrip("/")
    auth = {"Authorization": f"Bearer {account.access_token}"}
    info = _json(
        fetch(
            f"{base}/{settings.META_GRAPH_VERSION}/{media.ref}",
            allowed_hosts=[_host(base)],
            max_bytes=64 * 1024,
            headers=auth,
        ).content
    )
    url = info.get("url")
    if not isinstance(url, str):
        raise MediaUnavailable("the media endpoint gave no URL")
    content = fetch(
        url, allowed_hosts=[*META_MEDIA_HOSTS, _host(base)], max_bytes=_limit(), headers=auth
    ).content
    _check_digest(content, info.get("sha256"))
    return content


def _telegram(account: ChannelAccount, media: Media) -> bytes:
    if not SAFE_ID.fullmatch(media.ref):
        raise MediaUnavailable("not a Telegram file id")
    base = settings.TELEGRAM_API_BASE.rstrip("/")
    bot = f"bot{account.access_token}"
    answer = _json(
        fetch(
            f"{base}/{bot}/getFile?file_id={media.ref}",
            allowed_hosts=[_host(base)],
            max_bytes=64 * 1024,
        ).content
    )
    path = (answer.get("result") or {}).get("file_path")
    if not isinstance(path, str) or not SAFE_PATH.fullmatch(path) or ".." in path:
        raise MediaUnavailable("Telegram gave no usable file path")
    return fetch(
        f"{base}/file/{bot}/{path}", allowed_hosts=[_host(base)], max_bytes=_limit()
    ).content


def _meta_cdn(account: ChannelAccount, media: Media) -> bytes:
    return fetch(media.ref, allowed_hosts=META_MEDIA_HOSTS, max_bytes=_limit()).content


def _json(content: bytes) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError as exc:
        raise MediaUnavailable("the provider's answer is not JSON") from exc
    if not isinstance(value, dict):
        raise MediaUnavailable("the provider's answer is not a JSON object")
    return value


def _check_digest(content: bytes, expected: Any) -> None:
    """WhatsApp states the file's SHA-256 (hex, or base64 in webhooks): a mismatch is a
    corrupted or substituted file."""
    if not isinstance(expected, str) or not expected:
        return
    digest = hashlib.sha256(content).digest()
    if expected.lower() not in (digest.hex(), base64.b64encode(digest).decode().lower()):
        raise MediaUnavailable("the file does not match the digest the provider gave")
