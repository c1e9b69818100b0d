"""Sending on the citizen's channel: one function per provider, one result shape.

Base URLs come from settings (WHATSAPP_API_BASE, META_GRAPH_API_BASE, TELEGRAM_API_BASE,
X_API_BASE) so a deployment can go through a proxy and tests through a local double.
The message row exists (queued) before any call, so a retry never invents a message.
"""

from __future__ import annotations

import functools
import os
import secrets
import smtplib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import formataddr
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Max
from django.utils import timezone

from channels_ingest.mail import base_address
from channels_ingest.models import ChannelAccount
from complaints.choices import AuthorKind, Channel, Direction
from complaints.models import ChannelIdentity, Message

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# A thread sends one request at a time: a kept connection or two per provider host.
LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=4)
# Provider error codes worth retrying (throttling, transient faults).
RETRYABLE_CODES = frozenset({130429, 131000, 131056, 2, 4, 17, 32, 613})


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    external_id: str = ""
    retryable: bool = False
    error: str = ""
    note: str = ""  # how it went out, when not as written


# WhatsApp's customer-service window: free-form messages only this long after the
# citizen's last message; keep a margin so a send cannot cross the edge in flight.
WHATSAPP_WINDOW = timedelta(hours=24)
WHATSAPP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Context:
    """What sends need to know of the citizens they go to, read for many at once: the
    address on each channel, and when they last wrote on each WhatsApp account."""

    addresses: dict[tuple[int, str], str]
    last_whatsapp: dict[tuple[int, int], datetime]
    # Email tickets' Message-IDs, oldest first, each with whether the citizen wrote it:
    # what a reply answers (In-Reply-To) and lists (References).
    email_threads: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)

    @classmethod
    def of(cls, messages: Sequence[Message]) -> Context:
        """Two queries (three with email), whatever the number of messages (their tickets
        loaded); one when each WhatsApp message answers one of the citizen's inside the
        window, as a drain's acknowledgements do."""
        citizens = {m.ticket.citizen_id for m in messages}
        identities = (
            ChannelIdentity.objects.filter(
                citizen_id__in=citizens, channel__in={m.channel for m in messages}
            )
            .order_by("pk")
            .values_list("citizen_id", "channel", "address")
        )
        addresses: dict[tuple[int, str], str] = {}
        for citizen_id, channel, address in identities:
            addresses.setdefault((citizen_id, channel), address)
        last_at, unknown = _answered_in_window(messages)
        if unknown:
            last = (
                Message.objects.filter(
                    channel=Channel.WHATSAPP,
                    direction=Direction.INBOUND,
                    ticket__citizen_id__in={citizen for citizen, _account in unknown},
                    ticket__channel_account_id__in={account for _citizen, account in unknown},
                )
                .values_list("ticket__citizen_id", "ticket__channel_account_id")
                .annotate(last=Max("created_at"))
                .order_by()
            )
            last_at |= {(c, a): at for c, a, at in last if (c, a) in unknown}
        threads: dict[int, list[tuple[str, bool]]] = {}
        if emailed := {m.ticket_id for m in messages if m.channel == Channel.EMAIL}:
            ids = (
                Message.objects.filter(ticket__in=emailed, channel=Channel.EMAIL)
                .exclude(external_id="")
                .order_by("created_at", "pk")
                .values_list("ticket_id", "external_id", "direction")
            )
            for ticket_id, external_id, direction in ids:
                threads.setdefault(ticket_id, []).append(
                    (external_id, direction == Direction.INBOUND)
                )
        return cls(addresses, last_at, threads)


def _answered_in_window(
    messages: Sequence[Message],
) -> tuple[dict[tuple[int, int], datetime], set[tuple[int, int]]]:
    """For the WhatsApp messages' (citizen, account) pairs: a time the citizen last wrote
    that is known without a query and inside the window (the citizen's message one of
    them answers, loaded with it), and the pairs whose last message must be read."""
    known: dict[tuple[int, int], datetime] = {}
    unknown: set[tuple[int, int]] = set()
    open_after = timezone.now() - WHATSAPP_WINDOW + WHATSAPP_MARGIN
    answered = Message.in_reply_to.field
    for message in messages:
        if message.channel != Channel.WHATSAPP or message.ticket.channel_account_id is None:
            continue
        key = (message.ticket.citizen_id, message.ticket.channel_account_id)
        replied = message.in_reply_to if answered.is_cached(message) else None
        if (
            replied is not None
            and replied.ticket_id == message.ticket_id
            and replied.direction == Direction.INBOUND
            and replied.channel == Channel.WHATSAPP
            and replied.created_at > open_after
        ):
            # The citizen's latest message is no older: the window is open (as far as
            # `_whatsapp` needs to know).
            known[key] = max(known.get(key, replied.created_at), replied.created_at)
        else:
            unknown.add(key)
    unknown -= set(known)
    return known, unknown


def send(message: Message, context: Context | None = None) -> Sent:
    """Delivers an outbound message through its ticket's channel account (`context`:
    what `Context.of` read for it and others, or read now)."""
    context = context or Context.of([message])
    account = message.ticket.channel_account
    if account is None or not account.is_active:
        return Sent(False, error="no active channel account for this conversation")
    if not account.access_token and account.kind != Channel.EMAIL:
        return Sent(False, error=f"{account} has no access token")
    sender = {
        Channel.WHATSAPP: _whatsapp,
        Channel.MESSENGER: _meta,
        Channel.INSTAGRAM: _meta,
        Channel.X: _x,
        Channel.TELEGRAM: _telegram,
        Channel.EMAIL: _email,
    }.get(Channel(message.channel))
    if sender is None:
        return Sent(False, error=f"cannot send on {message.channel}")
    recipient = context.addresses.get((message.ticket.citizen_id, message.channel), "")
    try:
        return sender(account, message, recipient, context)
    except httpx.HTTPError as exc:
        return Sent(False, retryable=True, error=f"{type(exc).__name__}: {exc}")


def _graph(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{settings.META_GRAPH_VERSION}/{path}"


def _whatsapp(account: ChannelAccount, message: Message, recipient: str, context: Context) -> Sent:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient.lstrip("+"),
        "biz_opaque_callback_data": str(message.pk),
    }
    note = ""
    last = context.last_whatsapp.get((message.ticket.citizen_id, account.pk))
    if last is not None and timezone.now() < last + WHATSAPP_WINDOW - WHATSAPP_MARGIN:
        body |= {"type": "text", "text": {"preview_url": False, "body": message.body[:4096]}}
        if message.in_reply_to and message.in_reply_to.external_id:
            body["context"] = {"message_id": message.in_reply_to.external_id}
    else:
        template = account.settings.get("whatsapp_template")
        if not template:
            return Sent(
                False,
                error="Outside WhatsApp's 24-hour window and no template is configured for "
                f"{account}: the citizen has to write first, or use another channel.",
            )
        body |= {"type": "template", "template": _template(template, message)}
        note = (
            "Sent as WhatsApp template "
            f"'{template['name']}': the citizen's last message is more than 24 hours old."
        )
    url = _graph(settings.WHATSAPP_API_BASE, f"{account.address}/messages")
    reply = _post(url, body, account.access_token)
    sent = _meta_result(reply, lambda data: data["messages"][0]["id"])
    return Sent(sent.ok, sent.external_id, sent.retryable, sent.error, note if sent.ok else "")


def _template(template: dict[str, str], message: Message) -> dict[str, Any]:
    """An approved utility template: {{1}} the ticket number, {{2}} the reply (one line)."""
    text = " ".join(message.body.split())[:900]  # parameters take no newlines or tabs
    parameters = [{"type": "text", "text": message.ticket.number}, {"type": "text", "text": text}]
    return {
        "name": template["name"],
        "language": {"code": template.get("language", "id")},
        "components": [{"type": "body", "parameters": parameters}],
    }


def _meta(account: ChannelAccount, message: Message, recipient: str, _: Context) -> Sent:
    base = settings.META_GRAPH_API_BASE
    replied = message.in_reply_to
    if message.is_public and replied and replied.external_id:
        # A public answer under the citizen's comment (FB comments / IG replies edge).
        edge = "replies" if message.channel == Channel.INSTAGRAM else "comments"
        url = _graph(base, f"{replied.external_id}/{edge}")
        reply = _post(url, {"message": message.body}, account.access_token)
        return _meta_result(reply, lambda data: data["id"])
    body = {
        "recipient": {"id": recipient},
        "messaging_type": "RESPONSE",
        "message": {"text": message.body[:2000]},
    }
    reply = _post(_graph(base, f"{account.address}/messages"), body, account.access_token)
    return _meta_result(reply, lambda data: data["message_id"])


def _x(account: ChannelAccount, message: Message, recipient: str, _: Context) -> Sent:
    base = settings.X_API_BASE.rstrip("/")
    replied = message.in_reply_to
    if message.is_public and replied and replied.external_id:
        body: dict[str, Any] = {
            "text": message.body,
            "reply": {"in_reply_to_tweet_id": replied.external_id},
        }
        reply = _post(f"{base}/2/tweets", body, account.access_token)
        key = "id"
    else:
        url = f"{base}/2/dm_conversations/with/{recipient}/messages"
        reply = _post(url, {"text": message.body}, account.access_token)
        key = "dm_event_id"
    if reply.status_code in (200, 201):
        return Sent(True, external_id=str(reply.json()["data"][key]))
    retryable = reply.status_code == 429 or reply.status_code >= 500
    return Sent(False, retryable=retryable, error=f"X {reply.status_code}: {reply.text[:500]}")


def _telegram(account: ChannelAccount, message: Message, recipient: str, _: Context) -> Sent:
    body: dict[str, Any] = {
        "chat_id": int(recipient),
        "text": message.body[:4096],
        "link_preview_options": {"is_disabled": True},
    }
    replied = message.in_reply_to
    if replied and ":" in replied.external_id:
        body["reply_parameters"] = {
            "message_id": int(replied.external_id.rsplit(":", 1)[1]),
            "allow_sending_without_reply": True,
        }
    base = settings.TELEGRAM_API_BASE.rstrip("/")
    reply = _post(f"{base}/bot{account.access_token}/sendMessage", body)
    data = _json(reply)
    if data.get("ok"):
        chat, sent_id = data["result"]["chat"]["id"], data["result"]["message_id"]
        return Sent(True, external_id=f"{chat}:{sent_id}")
    code = int(data.get("error_code") or reply.status_code)
    retryable = code == 429 or code >= 500
    return Sent(False, retryable=retryable, error=f"Telegram {code}: {data.get('description', '')}")


def _email(account: ChannelAccount, message: Message, recipient: str, context: Context) -> Sent:
    """An email on the ticket's thread (REFERENCE 5.6): the ticket number as a token in
    the subject and at the start of our Message-ID, In-Reply-To and References so the
    citizen's client threads it and their reply threads back; automatic messages say so
    (Auto-Submitted), so that well-behaved responders do not answer them."""
    if not recipient:
        return Sent(False, error="the citizen has no email address")
    if base_address(recipient) in _our_addresses(account):
        return Sent(False, error=f"{recipient} is one of our own mailboxes: not sent (a loop)")
    ticket = message.ticket
    domain = account.address.rpartition("@")[2] or "aduan.invalid"
    message_id = f"{ticket.number}.{message.pk}.{secrets.token_hex(4)}@{domain}"
    thread = context.email_threads.get(ticket.pk, [])
    parent = message.in_reply_to
    answered = parent.external_id if parent and parent.channel == Channel.EMAIL else ""
    citizens = [i for i, inbound in thread if inbound]
    answered = answered or (citizens or [i for i, _inbound in thread] or [""])[-1]
    headers = {
        "Message-ID": f"<{message_id}>",
        "X-Auto-Response-Suppress": "All",
        "X-Loop": account.address,
    }
    if answered:
        references = [*[i for i, _inbound in thread if i != answered][-20:], answered]
        headers["In-Reply-To"] = f"<{answered}>"
        headers["References"] = " ".join(f"<{i}>" for i in references)
    if message.author_kind == AuthorKind.SYSTEM:
        headers["Auto-Submitted"] = "auto-replied"
    email = EmailMessage(
        subject=f"[{ticket.number}] {ticket.subject}"[:250],
        body=message.body,
        from_email=formataddr((account.name, account.address)),
        to=[recipient],
        headers=headers,
        connection=_mail_connection(),
    )
    try:
        email.send()
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return Sent(False, error=f"refused: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        _mail_connections.pop(_mail_key(), None)
        return Sent(False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    return Sent(True, external_id=message_id)


def _our_addresses(account: ChannelAccount) -> set[str]:
    aliases = (account.settings or {}).get("aliases") or []
    return {base_address(a) for a in [account.address, *aliases] if a}


_mail_connections: dict[tuple[int, int, str], Any] = {}


def _mail_key() -> tuple[int, int, str]:
    return (os.getpid(), threading.get_ident(), settings.EMAIL_BACKEND)


def _mail_connection() -> Any:
    """This sending thread's connection to the mail server, kept open between sends."""
    key = _mail_key()
    connection = _mail_connections.get(key)
    if connection is None:
        connection = _mail_connections[key] = get_connection()
        connection.open()
    return connection


def _post(url: str, body: dict[str, Any], token: str = "") -> httpx.Response:
    """A JSON POST to a provider API (with `token`, bearer-authorised), read in full.

    It goes straight to this thread's transport, the connection pool an `httpx.Client`
    sends through, without a client around it: a provider call has no use for a cookie
    jar, redirects or an auth flow, and the client's handling of them (its cookie jar
    wraps every response in urllib objects) was a quarter of each send's cost. Nor may
    cookies one channel account's call was given go out on another account's calls, as
    they would from a client shared by a thread's sends. Network errors are raised as the
    client raises them (`httpx.TransportError`).
    """
    headers = {"User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = httpx.Request("POST", _url(url), json=body, headers=headers, extensions=_EXTENSIONS)
    reply = _transport().handle_request(request)
    try:
        reply.read()
    finally:
        reply.close()
    return reply


@functools.lru_cache(maxsize=1024)
def _url(url: str) -> httpx.URL:
    """`url` parsed once: an account's calls go to a few URLs (half of building a request
    was parsing its URL)."""
    return httpx.URL(url)


USER_AGENT = "Aduan"
_EXTENSIONS = {"timeout": TIMEOUT.as_dict()}
_local = threading.local()


def _transport() -> httpx.HTTPTransport:
    """This thread's connections to provider APIs: kept between sends (building them per
    send was a tenth of a worker's time).

    One pool per thread, not one per process: httpx's connection pool serialises its
    threads on one lock, under which each request also polls every kept connection; with
    the sending threads sharing a pool, they spent most of their time waiting for that
    lock. A forked process's threads build their own (the `pid` check: a child inherits
    its parent's thread-local values).
    """
    transport: httpx.HTTPTransport | None = getattr(_local, "transport", None)
    if transport is None or _local.pid != os.getpid():
        transport = _local.transport = httpx.HTTPTransport(limits=LIMITS)
        _local.pid = os.getpid()
    return transport


def _meta_result(reply: httpx.Response, external_id: Any) -> Sent:
    data = _json(reply)
    if reply.status_code == 200 and "error" not in data:
        return Sent(True, external_id=str(external_id(data)))
    error = data.get("error") or {}
    code = error.get("code")
    retryable = reply.status_code >= 500 or code in RETRYABLE_CODES
    return Sent(
        False, retryable=retryable, error=f"{code}: {error.get('message', reply.text[:500])}"
    )


def _json(reply: httpx.Response) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
