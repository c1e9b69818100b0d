"""Who sent this webhook: each provider's handshake and signature, compared in constant time.

Meta (WhatsApp, Messenger, Instagram) signs the raw body with the app secret
(`X-Hub-Signature-256: sha256=<hex>`); X signs it with the consumer secret
(`x-twitter-webhooks-signature: sha256=<base64>`); Telegram sends the secret token given
to setWebhook (`X-Telegram-Bot-Api-Secret-Token`). Always the raw bytes, never re-encoded
JSON. An account without its secret verifies nothing (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from complaints.choices import Channel

META_KINDS = frozenset({Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM})


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def is_signed(kind: str, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether `body` came from the provider holding `secret` (header names in any case)."""
    if not secret:
        return False
    if kind in META_KINDS:
        expected, name = meta_signature(secret, body), "x-hub-signature-256"
    elif kind == Channel.X:
        expected, name = x_signature(secret, body), "x-twitter-webhooks-signature"
    elif kind == Channel.TELEGRAM:
        expected, name = secret, "x-telegram-bot-api-secret-token"
    else:
        return False
    given = next((v for k, v in headers.items() if k.lower() == name), "")
    return hmac.compare_digest(expected.encode(), given.encode())


def meta_challenge(verify_token: str, query: Mapping[str, str]) -> str | None:
    """The challenge to echo for Meta's subscription handshake, or None to refuse it."""
    token = query.get("hub.verify_token", "")
    if not verify_token or query.get("hub.mode") != "subscribe":
        return None
    if not hmac.compare_digest(verify_token.encode(), token.encode()):
        return None
    return query.get("hub.challenge", "")


def x_crc_response(consumer_secret: str, crc_token: str) -> dict[str, str]:
    """X's Challenge-Response Check answer."""
    return {"response_token": x_signature(consumer_secret, crc_token.encode())}
