"""Email in: raw RFC 5322 bytes to what the inbox acts on (REFERENCE §5).

Every way in (IMAP, the SMTP receiver, provider webhooks) stores the raw bytes; `parse`
reads them with the standard library (`policy.default`), whatever the charset labels
claim, and says what kind of mail it is before anything answers it:

- `human`: a citizen writing; it may open a ticket and is acknowledged;
- `auto_reply`: out-of-office, vacation and other automatic answers, read receipts;
- `bounce`: delivery status notifications, with what failed and for which message;
- `bulk`: newsletters and mailing lists;
- `loop`: mail that has gone round too often or carries our own loop marker.

Only `human` mail is ever answered or opens a ticket (REFERENCE §5.7).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import re
from dataclasses import dataclass, field, replace
from email import policy
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

import nh3

HUMAN, AUTO_REPLY, BOUNCE, BULK, LOOP = "human", "auto_reply", "bounce", "bulk", "loop"
MAX_RECEIVED = 25  # more hops than any real delivery takes: a loop
AUTOMATED_SENDERS = re.compile(r"^(mailer-daemon|postmaster|bounces?[+-].*|bounce)$", re.I)
NO_REPLY_SENDERS = re.compile(r"^(no-?reply|do-?not-?reply)([+-].*)?$", re.I)
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# Labels that real mail uses for text that is really Windows-1252 (browsers read them so).
WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"})
UNKNOWN_LABELS = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "8bit"})

# Quoted history, cut from the stored text (the raw message keeps it). REFERENCE §5.8.
_QUOTE_LINES = [
    re.compile(r"^\s*-{2,}\s*(original message|pesan asli|forwarded message|pesan terusan)", re.I),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's rule above its header block
    re.compile(r"^\s*>"),
]
_ATTRIBUTION = re.compile(r"^\s*(on|pada)\b.{0,240}?\b(wrote|menulis)\s*:\s*$", re.I | re.S)
_HEADER_BLOCK = re.compile(r"^\s*\**(from|dari)\s*:\**\s", re.I)
_HEADER_NEXT = re.compile(r"^\s*\**(sent|dikirim|date|tanggal|to|kepada)\s*:\**\s", re.I)
_SIGNATURE = re.compile(r"^(--\s?|(sent from my|dikirim dari)\b.*)$", re.I)
# HTML elements that start quoted history or a signature (Gmail, Outlook, Apple, Yahoo,
# Thunderbird); checked on the raw markup, which is only read, never shown.
_QUOTE_CLASSES = frozenset(
    {"gmail_quote", "gmail_quote_container", "gmail_attr", "gmail_signature", "yahoo_quoted"}
)
_QUOTE_CLASSES |= {"moz-cite-prefix", "moz-signature"}
_QUOTE_IDS = frozenset({"appendonsend", "divrplyfwdmsg", "signature"})
_BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
_HIDDEN_TAGS = frozenset({"head", "script", "style", "title", "template", "noscript"})
_SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|tr|trs|sv|vs|balas|bls|r)\s*(\[\d+\])?\s*:\s*)+", re.I
)


class _KeptHeaders(HeaderRegistry):
    """`policy.default`'s header objects, each made once per distinct name and value.

    The default policy parses a header again on every access, and reading a message
    touches Content-Type and friends many times (finding the body, walking the parts);
    that parsing was most of the time a message took. The objects are immutable, and the
    same values recur from message to message.
    """

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one registry for the process
    def __call__(self, name: str, value: str) -> BaseHeader:
        return super().__call__(name, value)


POLICY = policy.default.clone(header_factory=_KeptHeaders())


@dataclass(frozen=True, slots=True)
class MailFile:
    name: str
    content_type: str
    content: bytes
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a delivery status notification reports (RFC 3464)."""

    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str
    recipient: str
    original_ids: tuple[str, ...]  # Message-IDs of the mail that bounced

    @property
    def permanent(self) -> bool:
        return self.action == "failed" or self.status.startswith("5")


@dataclass(frozen=True, slots=True)
class Mail:
    message_id: str  # without angle brackets; "sha256:…" when the sender gave none
    sender: str  # addr-spec, lower case; "" when there is none
    sender_name: str
    subject: str
    text: str  # what is new in this message: quoted history and signature cut
    full_text: str
    html: str  # the HTML body, sanitised; "" when there is none
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To (addr-specs)
    kind: str
    reason: str  # the header or sign that decided `kind`
    files: tuple[MailFile, ...] = ()
    bounce: Bounce | None = None
    auto_submitted: bool = field(default=False)
    loop_marks: tuple[str, ...] = ()  # X-Loop values, lower case: who has sent it on

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Ids this message answers, the most telling first: In-Reply-To, then References
        newest first (REFERENCE §5.5)."""
        seen: dict[str, None] = dict.fromkeys(self.in_reply_to)
        seen.update(dict.fromkeys(reversed(self.references)))
        return tuple(seen)


def message_key(raw: bytes) -> str:
    """The id a stored mail is deduplicated on, read from the headers alone: its
    Message-ID, or a digest of what identifies it (REFERENCE §5.9)."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    ids = _ids(str(headers.get("Message-ID", "")))
    if ids:
        return ids[0][:255]
    return _fallback_key(parse_message(raw))


def parse_message(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=POLICY).parsebytes(raw)
    if not isinstance(message, EmailMessage):  # policy.default always makes one
        raise TypeError(f"parsed as {type(message).__name__}")
    return message


def parse(raw: bytes, *, mail_from: str | None = None) -> Mail:
    """Reads a raw message; `mail_from` is the envelope sender when the way in knows it
    ("" for a null sender, `MAIL FROM:<>`)."""
    message = parse_message(raw)
    plain = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    raw_html = decoded_text(html_part) if html_part is not None else ""
    if plain is not None and plain.get_content_type() == "text/plain":
        full_text = _normalised(decoded_text(plain))
        text = strip_quotes(full_text)
    elif raw_html:
        full_text = html_to_text(raw_html)
        text = strip_quotes(html_to_text(raw_html, cut_quotes=True))
    else:
        full_text = text = ""
    bodies = {id(part) for part in (plain, html_part) if part is not None}
    sender_name, sender = _address(message, "From")
    kind, reason = classify(message, sender, mail_from)
    mail = Mail(
        message_id="",
        sender=sender,
        sender_name=sender_name,
        subject=_header(message, "Subject"),
        text=text or full_text,
        full_text=full_text,
        html=nh3.clean(raw_html) if raw_html else "",
        in_reply_to=_ids(_raw(message, "In-Reply-To")),
        references=_ids(_raw(message, "References")),
        recipients=_recipients(message),
        kind=kind,
        reason=reason,
        files=tuple(_files(message, bodies)),
        bounce=_bounce(message) if kind == BOUNCE else None,
        auto_submitted=kind != HUMAN,
        loop_marks=tuple(v.lower() for v in _raw_all(message, "X-Loop")),
    )
    ids = _ids(_raw(message, "Message-ID"))
    return replace(mail, message_id=ids[0] if ids else _fallback_key(message))


def base_address(address: str) -> str:
    """`local+tag@domain` as `local@domain`, lower case."""
    local, _at, domain = address.strip().strip("<>").lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}" if local else ""


def plus_tag(address: str) -> str:
    """The tag of `local+tag@domain` ("" without one): replies carry the ticket number
    there (pengaduan+ADU-2611-7K3QX9@…)."""
    local = address.strip().strip("<>").rpartition("@")[0]
    return local.partition("+")[2]


def clean_subject(subject: str) -> str:
    """The subject without reply and forward prefixes (Re:, Fwd:, Balas:, AW: …)."""
    return _SUBJECT_PREFIX.sub("", subject).strip()


# --- Classification ---------------------------------------------------------------------


def classify(message: Message, sender: str, mail_from: str | None = None) -> tuple[str, str]:
    """(kind, reason) for the message, checked before anything answers it (§5.7)."""
    content_type = message.get_content_type()
    report = str(message.get_param("report-type") or "").lower()
    if content_type == "multipart/report" and report == "delivery-status":
        return BOUNCE, "multipart/report; report-type=delivery-status"
    local = sender.partition("@")[0]
    null_sender = mail_from == "" or _raw(message, "Return-Path").strip() == "<>"
    if AUTOMATED_SENDERS.match(local) and null_sender:
        return BOUNCE, f"From {sender} with a null sender"
    if len(_raw_all(message, "Received")) > MAX_RECEIVED:
        return LOOP, f"more than {MAX_RECEIVED} Received headers"
    if content_type == "multipart/report":
        return AUTO_REPLY, f"multipart/report; report-type={report or '?'}"
    auto = _raw(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return AUTO_REPLY, f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if _raw_all(message, name):
            return AUTO_REPLY, name
    suppress = _raw(message, "X-Auto-Response-Suppress").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        return AUTO_REPLY, f"X-Auto-Response-Suppress: {suppress}"
    precedence = _raw(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return BULK, f"Precedence: {precedence}"
    if precedence == "auto_reply":
        return AUTO_REPLY, "Precedence: auto_reply"
    for name in ("List-Id", "List-Unsubscribe", "Feedback-ID"):
        if _raw_all(message, name):
            return BULK, name
    if null_sender:
        return AUTO_REPLY, "null sender (Return-Path: <>)"
    if AUTOMATED_SENDERS.match(local):
        return BOUNCE, f"From {sender}"
    if NO_REPLY_SENDERS.match(local):
        return AUTO_REPLY, f"From {sender}"
    return HUMAN, ""


def _bounce(message: EmailMessage) -> Bounce:
    action = status = diagnostic = recipient = ""
    original: list[str] = []
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for block in part.get_payload():
                if not isinstance(block, Message):
                    continue
                action = action or str(block.get("Action", "")).strip().lower()
                status = status or str(block.get("Status", "")).strip()
                diagnostic = diagnostic or " ".join(str(block.get("Diagnostic-Code", "")).split())
                final = str(block.get("Final-Recipient", ""))
                recipient = recipient or final.partition(";")[2].strip().lower()
        elif content_type == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            headers = BytesHeaderParser(policy=policy.compat32).parsebytes(
                payload if isinstance(payload, bytes) else b""
            )
            original += _ids(str(headers.get("Message-ID", "")))
        elif content_type == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, Message):
                original += _ids(str(inner.get("Message-ID", "")))
    return Bounce(action, status, diagnostic[:500], recipient, tuple(original))


# --- Text -------------------------------------------------------------------------------


def decoded_text(part: Message) -> str:
    """A text part's content, whatever its charset label says (REFERENCE §5.4): labels
    real mail misuses for Windows-1252 are read as such, unknown ones as UTF-8 if they
    can be, and nothing is ever refused (undecodable bytes become U+FFFD)."""
    payload = payload_bytes(part)
    label = (part.get_content_charset() or "").strip().lower()
    if label in WINDOWS_1252_LABELS:
        candidates = ["utf-8", "windows-1252"] if label in ("us-ascii", "ascii") else ["cp1252"]
    elif label in UNKNOWN_LABELS:
        candidates = ["utf-8", "windows-1252"]
    else:
        candidates = [label, "utf-8", "windows-1252"]
    for charset in candidates:
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("windows-1252", errors="replace")


def payload_bytes(part: Message) -> bytes:
    """A part's content with its transfer encoding undone. Broken base64 (bad padding,
    stray characters, a cut end) is read as far as it goes rather than kept encoded."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return b""
    broken = any(type(d).__name__.startswith("InvalidBase64") for d in part.defects)
    if broken and str(part.get("Content-Transfer-Encoding", "")).strip().lower() == "base64":
        encoded = re.sub(rb"[^A-Za-z0-9+/]", b"", payload)
        return base64.b64decode(encoded[: len(encoded) // 4 * 4])
    return payload


def strip_quotes(text: str) -> str:
    """`text` up to its quoted history or signature; all of it if nothing is new."""
    lines = _normalised(text).split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        pair = line + " " + lines[i + 1] if i + 1 < len(lines) else line
        if (
            any(pattern.match(line) for pattern in _QUOTE_LINES)
            or _SIGNATURE.match(line)
            or _ATTRIBUTION.match(line)
            or _ATTRIBUTION.match(pair)
            or (
                _HEADER_BLOCK.match(line)
                and any(_HEADER_NEXT.match(n) for n in lines[i + 1 : i + 4])
            )
        ):
            cut = i
            break
    return "\n".join(lines[:cut]).strip() or _normalised(text).strip()


def html_to_text(html: str, *, cut_quotes: bool = False) -> str:
    """Readable text of an HTML body: blocks on their own lines, hidden parts and tags
    dropped; with `cut_quotes`, only what comes before quoted history or a signature."""
    reader = _TextReader(cut_quotes)
    reader.feed(html)
    reader.close()
    return reader.text()


class _TextReader(HTMLParser):
    def __init__(self, cut_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.cut_quotes = cut_quotes
        self.parts: list[str] = []
        self.hidden = 0
        self.stopped = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if self.cut_quotes and _starts_quote(tag, dict(attrs)):
            self.stopped = True
            return
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS and self.hidden:
            self.hidden -= 1
        elif tag in _BLOCK_TAGS and not self.stopped:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.stopped and not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (re.sub(" {2,}", " ", line).strip() for line in "".join(self.parts).split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _starts_quote(tag: str, attrs: dict[str, str | None]) -> bool:
    classes = set((attrs.get("class") or "").lower().split())
    style = re.sub(r"\s+", "", (attrs.get("style") or "").lower())
    return bool(
        classes & _QUOTE_CLASSES
        or (attrs.get("id") or "").lower() in _QUOTE_IDS
        or (tag == "blockquote" and (attrs.get("type") or "").lower() == "cite")
        or (tag == "hr" and attrs.get("tabindex") == "-1")
        or (tag == "div" and "border-top:solid#e1e1e1" in style)
    )


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


# --- Headers and parts ------------------------------------------------------------------


def _header(message: Message, name: str) -> str:
    """A header's decoded value ("" if absent); a header that cannot be decoded is read
    as its raw text rather than stopping the message."""
    try:
        value = message.get(name)
    except (ValueError, IndexError, LookupError):
        value = None
    return " ".join(str(value).split()) if value is not None else ""


def _raw_all(message: Message, name: str) -> list[str]:
    """A header's values as received: unfolded, 8-bit bytes read as UTF-8, not decoded.

    For headers of tokens, ids and addresses: the default policy's structured parsing of
    an address header alone took half a millisecond, most of a message's reading time.
    """
    wanted = name.lower()
    return [_unfolded(v) for k, v in message.raw_items() if k.lower() == wanted]


def _raw(message: Message, name: str) -> str:
    values = _raw_all(message, name)
    return values[0] if values else ""


def _unfolded(value: object) -> str:
    text = str(value)
    with contextlib.suppress(UnicodeEncodeError):  # else it is text already
        text = text.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return " ".join(text.split())


def _words(text: str) -> str:
    """RFC 2047 encoded words decoded ("=?UTF-8?Q?…?=")."""
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        return text


def _ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m[:255] for m in MESSAGE_ID.findall(value)))


def _address(message: Message, name: str) -> tuple[str, str]:
    display, address = parseaddr(_raw(message, name))
    address = address.strip().lower()
    return _words(display).strip(), address if "@" in address.strip("@") else ""


def _recipients(message: Message) -> tuple[str, ...]:
    names = ("Delivered-To", "X-Original-To", "To", "Cc")
    values = [value for n in names for value in _raw_all(message, n)]
    found = [address.lower() for _name, address in getaddresses(values) if "@" in address]
    return tuple(dict.fromkeys(found))


def _fallback_key(message: Message) -> str:
    """For mail without a Message-ID: a digest of sender, date, subject and the start of
    the body, so the same message delivered twice is still one."""
    body = (
        message.get_body(preferencelist=("plain", "html"))
        if isinstance(message, EmailMessage)
        else None
    )
    start = decoded_text(body)[:4096] if body is not None else ""
    material = "\n".join(
        [_address(message, "From")[1], _header(message, "Date"), _header(message, "Subject"), start]
    )
    return "sha256:" + hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()


def _files(message: EmailMessage, bodies: set[int]) -> list[MailFile]:
    """Attached and inline files, forwarded messages as .eml; bounce reports and the
    chosen bodies left out; tiny inline images (logos in signatures) skipped."""
    found: list[MailFile] = []

    def visit(part: Message) -> None:
        if id(part) in bodies:
            return
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, Message):
                name = part.get_filename() or "pesan-terusan.eml"
                found.append(MailFile(name, content_type, inner.as_bytes()))
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
            return
        if content_type in ("message/delivery-status", "text/rfc822-headers"):
            return
        disposition = part.get_content_disposition()
        filename = part.get_filename() or ""
        if part is message or (part.get_content_maintype() == "text" and not filename):
            return
        if disposition not in ("attachment", "inline") and part.get_content_maintype() == "text":
            return
        content = payload_bytes(part)
        inline = disposition == "inline" or bool(part.get("Content-ID"))
        if inline and part.get_content_maintype() == "image" and len(content) < 5 * 1024:
            return
        found.append(MailFile(filename, content_type, content, inline))

    visit(message)
    return found
