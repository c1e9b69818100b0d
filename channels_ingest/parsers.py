"""Provider payloads to channel-agnostic records.

`split` cuts a verified delivery into its events, each with the provider's own id for it
(REFERENCE 0.3), so the inbox can keep one row per event however often it is delivered.
`read_event` turns one stored event into an `Inbound` message, a `StatusUpdate` for a
message we sent, or None for what Aduan does not act on (echoes, reactions, retweets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from complaints.choices import Channel, DeliveryStatus
from complaints.services import NewAttachment

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Media:
    """A file the provider holds; fetched through its API by the worker."""

    kind: str  # image, document, audio, video, sticker, file
    ref: str  # WhatsApp media id, Telegram file_id, or a Meta CDN URL
    name: str = ""
    content_type: str = ""


@dataclass(frozen=True, slots=True)
class Location:
    latitude: Decimal
    longitude: Decimal
    label: str = ""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A citizen's message on a channel."""

    channel: str
    external_id: str  # the message's id on Message (unique per channel)
    sender: str  # the sender's identity on the channel
    sender_name: str
    text: str
    is_public: bool = False
    reply_to: str = ""  # external id of the message this one answers, if any
    edit: bool = False  # a new text for an earlier message with the same external id
    media: tuple[Media, ...] = ()
    location: Location | None = None
    sent_at: datetime | None = None
    subject: str = ""
    # Files that came with the message itself (email), checked already.
    attachments: tuple[NewAttachment, ...] = ()
    # Whether the message continues its sender's open conversation on the account (chat
    # and direct messages); an email does only by its headers (REFERENCE 5.5).
    by_sender: bool = True


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What happened to messages we sent: by their ids, or all up to a watermark."""

    channel: str
    status: str
    external_ids: tuple[str, ...] = ()
    recipient: str = ""
    watermark: datetime | None = None
    error: str = ""


def split(kind: str, payload: Any) -> list[tuple[str, Event]]:
    """The events of one delivery as (provider id, event) pairs."""
    if not isinstance(payload, dict):
        raise ValueError("a webhook payload is a JSON object")
    splitter = {
        Channel.WHATSAPP: _split_whatsapp,
        Channel.MESSENGER: _split_meta,
        Channel.INSTAGRAM: _split_meta,
        Channel.X: _split_x,
        Channel.TELEGRAM: _split_telegram,
    }[Channel(kind)]
    return splitter(payload)


def read_event(kind: str, event: Event) -> Inbound | StatusUpdate | None:
    reader = {
        "wa_message": _whatsapp_message,
        "wa_status": _whatsapp_status,
        "meta_message": _meta_message,
        "meta_watermark": _meta_watermark,
        "fb_comment": _facebook_comment,
        "ig_comment": _instagram_comment,
        "x_tweet": _x_tweet,
        "x_dm": _x_dm,
        "tg_update": _telegram_update,
    }[event["kind"]]
    return reader(kind, event)


# --- WhatsApp ---------------------------------------------------------------------------


def _split_whatsapp(payload: Event) -> list[tuple[str, Event]]:
    events: list[tuple[str, Event]] = []
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field") != "messages":
                continue
            value = change.get("value") or {}
            contacts = {c.get("wa_id"): c for c in value.get("contacts") or []}
            for message in value.get("messages") or []:
                contact = contacts.get(message.get("from")) or {}
                event = {"kind": "wa_message", "message": message, "contact": contact}
                events.append((str(message["id"]), event))
            for status in value.get("statuses") or []:
                key = f"{status['id']}:{status['status']}"
                events.append((key, {"kind": "wa_status", "status": status}))
    return events


WHATSAPP_MEDIA = ("image", "document", "audio", "video", "sticker")
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 3}


def _whatsapp_message(kind: str, event: Event) -> Inbound | None:
    message, contact = event["message"], event.get("contact") or {}
    kind_of = message.get("type", "")
    text, media, location = "", [], None
    if kind_of == "text":
        text = (message.get("text") or {}).get("body", "")
    elif kind_of in WHATSAPP_MEDIA:
        item = message.get(kind_of) or {}
        text = item.get("caption", "")
        media.append(
            Media(
                kind_of,
                str(item.get("id", "")),
                item.get("filename", ""),
                item.get("mime_type", ""),
            )
        )
    elif kind_of == "location":
        place = message.get("location") or {}
        location = _location(place.get("latitude"), place.get("longitude"), place)
        text = _place_text(place)
    elif kind_of == "interactive":
        reply = message.get("interactive") or {}
        chosen = reply.get(reply.get("type", "")) or {}
        text = chosen.get("title", "")
    elif kind_of == "button":
        text = (message.get("button") or {}).get("text", "")
    else:
        return None  # reactions, system and unsupported messages: kept in the inbox only
    sender = message.get("from") or message.get("from_user_id") or contact.get("user_id", "")
    return Inbound(
        channel=Channel.WHATSAPP,
        external_id=str(message["id"]),
        sender=str(sender),
        sender_name=(contact.get("profile") or {}).get("name", ""),
        text=text,
        reply_to=(message.get("context") or {}).get("id", ""),
        media=tuple(media),
        location=location,
        sent_at=_from_seconds(message.get("timestamp")),
    )


def _whatsapp_status(kind: str, event: Event) -> StatusUpdate:
    status = event["status"]
    errors = status.get("errors") or []
    error = "; ".join(f"{e.get('code')}: {_error_text(e)}" for e in errors)
    state = status.get("status", "")
    return StatusUpdate(
        channel=Channel.WHATSAPP,
        status=DeliveryStatus.FAILED if state == "failed" else _delivery_status(state),
        external_ids=(str(status["id"]),),
        recipient=str(status.get("recipient_id", "")),
        error=error,
    )


def _error_text(error: Event) -> str:
    details = (error.get("error_data") or {}).get("details")
    return str(details or error.get("message") or error.get("title") or "")


# --- Messenger, Instagram, Page comments ------------------------------------------------


def _split_meta(payload: Event) -> list[tuple[str, Event]]:
    events: list[tuple[str, Event]] = []
    for entry in payload.get("entry") or []:
        account = str(entry.get("id", ""))
        for item in entry.get("messaging") or []:
            sender = str((item.get("sender") or {}).get("id", ""))
            if "message" in item:
                if item["message"].get("is_echo") or sender == account:
                    continue  # our own message coming back
                events.append((str(item["message"]["mid"]), {"kind": "meta_message", **item}))
            for mark in ("delivery", "read"):
                if mark in item:
                    key = f"{mark}:{sender}:{item[mark].get('watermark')}"
                    events.append((key, {"kind": "meta_watermark", "mark": mark, **item}))
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            author = str((value.get("from") or {}).get("id", ""))
            if author == account:
                continue  # the page's or account's own comment
            if change.get("field") == "feed" and value.get("item") == "comment":
                key = f"{value['comment_id']}:{value.get('verb')}:{value.get('created_time')}"
                events.append((key, {"kind": "fb_comment", "value": value}))
            elif change.get("field") == "comments":
                events.append((str(value["id"]), {"kind": "ig_comment", "value": value}))
    return events


def _meta_message(kind: str, event: Event) -> Inbound:
    message = event["message"]
    media = []
    for attachment in message.get("attachments") or []:
        url = (attachment.get("payload") or {}).get("url")
        if url and attachment.get("type") in ("image", "video", "audio", "file"):
            media.append(Media(attachment["type"], url))
    return Inbound(
        channel=Channel(kind),
        external_id=str(message["mid"]),
        sender=str(event["sender"]["id"]),
        sender_name="",
        text=message.get("text", ""),
        reply_to=str((message.get("reply_to") or {}).get("mid", "")),
        media=tuple(media),
        sent_at=_from_millis(event.get("timestamp")),
    )


def _meta_watermark(kind: str, event: Event) -> StatusUpdate:
    mark = event["mark"]
    return StatusUpdate(
        channel=Channel(kind),
        status=DeliveryStatus.READ if mark == "read" else DeliveryStatus.DELIVERED,
        external_ids=tuple(event[mark].get("mids") or ()),
        recipient=str(event["sender"]["id"]),
        watermark=_from_millis(event[mark].get("watermark")),
    )


def _facebook_comment(kind: str, event: Event) -> Inbound | None:
    value = event["value"]
    if value.get("verb") not in ("add", "edited"):
        return None  # removals and hides: kept in the inbox only
    top = value.get("parent_id") if value.get("parent_id") != value.get("post_id") else ""
    author = value.get("from") or {}
    return Inbound(
        channel=Channel.MESSENGER,
        external_id=str(value["comment_id"]),
        sender=str(author.get("id", "")),
        sender_name=author.get("name", "Pengguna Facebook"),
        text=value.get("message", ""),
        is_public=True,
        reply_to=str(top or ""),
        edit=value.get("verb") == "edited",
        sent_at=_from_seconds(value.get("created_time")),
    )


def _instagram_comment(kind: str, event: Event) -> Inbound:
    value = event["value"]
    author = value.get("from") or {}
    return Inbound(
        channel=Channel.INSTAGRAM,
        external_id=str(value["id"]),
        sender=str(author.get("id", "")),
        sender_name=author.get("username", ""),
        text=value.get("text", ""),
        is_public=True,
        reply_to=str(value.get("parent_id", "")),
    )


# --- X ----------------------------------------------------------------------------------


def _split_x(payload: Event) -> list[tuple[str, Event]]:
    us = str(payload.get("for_user_id", ""))
    events: list[tuple[str, Event]] = []
    for tweet in payload.get("tweet_create_events") or []:
        if str((tweet.get("user") or {}).get("id_str")) == us or "retweeted_status" in tweet:
            continue  # our own posts, and retweets
        blocked = str(payload.get("user_has_blocked", tweet.get("is_blocked_by", ""))).lower()
        event = {"kind": "x_tweet", "tweet": tweet, "blocked": blocked == "true"}
        events.append((str(tweet["id_str"]), event))
    users = payload.get("users") or {}
    for dm in payload.get("direct_message_events") or []:
        create = dm.get("message_create") or {}
        sender = str(create.get("sender_id", ""))
        if dm.get("type") != "message_create" or sender == us:
            continue
        events.append((str(dm["id"]), {"kind": "x_dm", "dm": dm, "user": users.get(sender) or {}}))
    return events


def _x_tweet(kind: str, event: Event) -> Inbound:
    tweet = event["tweet"]
    text = tweet.get("text", "")
    if tweet.get("truncated"):
        text = (tweet.get("extended_tweet") or {}).get("full_text", text)
    user = tweet.get("user") or {}
    return Inbound(
        channel=Channel.X,
        external_id=str(tweet["id_str"]),
        sender=str(user.get("id_str", "")),
        sender_name=user.get("screen_name", ""),
        text=text,
        is_public=True,
        reply_to=str(tweet.get("in_reply_to_status_id_str") or ""),
        sent_at=_from_millis(tweet.get("timestamp_ms")),
    )


def _x_dm(kind: str, event: Event) -> Inbound:
    dm = event["dm"]
    create = dm["message_create"]
    return Inbound(
        channel=Channel.X,
        external_id=str(dm["id"]),
        sender=str(create["sender_id"]),
        sender_name=(event.get("user") or {}).get("screen_name", ""),
        text=(create.get("message_data") or {}).get("text", ""),
        sent_at=_from_millis(dm.get("created_timestamp")),
    )


# --- Telegram ---------------------------------------------------------------------------


def _split_telegram(payload: Event) -> list[tuple[str, Event]]:
    return [(str(payload["update_id"]), {"kind": "tg_update", "update": payload})]


def _telegram_update(kind: str, event: Event) -> Inbound | None:
    update = event["update"]
    message = update.get("message") or update.get("edited_message")
    if not message or (message.get("chat") or {}).get("type") != "private":
        return None  # button taps, groups, channels, membership changes: inbox only
    sender = message.get("from") or {}
    media: list[Media] = []
    if photos := message.get("photo"):
        media.append(Media("image", photos[-1]["file_id"]))  # the largest size comes last
    for kind_of in ("document", "video", "audio", "voice"):
        if item := message.get(kind_of):
            media.append(
                Media(
                    kind_of, item["file_id"], item.get("file_name", ""), item.get("mime_type", "")
                )
            )
    place = message.get("location")
    location = _location(place["latitude"], place["longitude"], {}) if place else None
    name = " ".join(filter(None, (sender.get("first_name"), sender.get("last_name"))))
    return Inbound(
        channel=Channel.TELEGRAM,
        external_id=f"{message['chat']['id']}:{message['message_id']}",
        sender=str(message["chat"]["id"]),
        sender_name=name or sender.get("username", ""),
        text=message.get("text") or message.get("caption") or "",
        edit="edited_message" in update,
        reply_to=_telegram_reply(message),
        media=tuple(media),
        location=location,
        sent_at=_from_seconds(message.get("date")),
    )


def _telegram_reply(message: Event) -> str:
    replied = message.get("reply_to_message")
    return f"{message['chat']['id']}:{replied['message_id']}" if replied else ""


# --- Shared -----------------------------------------------------------------------------


def _delivery_status(state: str) -> str:
    return {
        "sent": DeliveryStatus.SENT,
        "delivered": DeliveryStatus.DELIVERED,
        "read": DeliveryStatus.READ,
        "played": DeliveryStatus.READ,
    }.get(state, "")


def _location(latitude: Any, longitude: Any, place: Event) -> Location | None:
    try:
        lat, lng = Decimal(str(latitude)), Decimal(str(longitude))
    except InvalidOperation:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return Location(
        round(lat, 6),
        round(lng, 6),
        ", ".join(filter(None, [place.get("name"), place.get("address")])),
    )


def _place_text(place: Event) -> str:
    return ", ".join(filter(None, [place.get("name"), place.get("address")]))


def _from_seconds(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError):
        return None


def _from_millis(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError):
        return None


__all__ = ["Inbound", "Location", "Media", "StatusUpdate", "read_event", "split"]
