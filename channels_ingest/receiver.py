"""Provider deliveries (POST /webhooks/<kind>/<slug>/) answered on the server's event loop.

A delivery needs four things: its bytes, its account, a signature check and one INSERT.
Going through Django's request cycle (middleware, URL resolution, a connection from the
pool and its health check per request) cost ten times that. This ASGI layer reads the body
on the event loop and runs the same service function as the view
(`services.accept_webhook`) on a few threads of its own, each keeping its database
connection between deliveries. Anything else — handshakes, unknown or inactive accounts,
an account without its secret, a host not allowed — goes on to Django, whose view gives the
same answers.

Accounts are remembered for `ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS`: a secret changed or an
account deactivated in the admin takes effect within that time in every server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.http.request import split_domain_port, validate_host

from channels_ingest import services
from channels_ingest.models import ChannelAccount
from channels_ingest.views import WEBHOOK_KINDS, answer_response
from config.health import UNAVAILABLE_ERRORS, unavailable

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PATH = re.compile(r"^/webhooks/(?P<kind>[a-z]+)/(?P<slug>[-a-zA-Z0-9_]+)/$")


class WebhookReceiver:
    """ASGI middleware: provider deliveries here, everything else to `app`."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(
            settings.ADUAN_WEBHOOK_THREADS, thread_name_prefix="aduan-webhook"
        )
        self.accounts: dict[tuple[str, str], tuple[float, ChannelAccount]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.match(scope["path"]) if scope["type"] == "http" else None
        if (
            match is None
            or scope["method"] != "POST"
            or match["kind"] not in WEBHOOK_KINDS
            or not _host_allowed(scope)
        ):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        try:
            account = await loop.run_in_executor(
                self.executor, self._account, match["kind"], match["slug"]
            )
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("database unavailable on %s: %s", scope["path"], exc)
            await _respond(send, unavailable())
            return
        if account is None or not account.webhook_secret:
            await self.app(scope, receive, send)  # Django's 404 or 503, as for a GET
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if int(headers.get("content-length") or 0) > limit:
            await _respond(send, _too_large())
            return
        body = await _read_body(receive, limit)
        if body is None:
            return  # the sender hung up mid-body: nothing to verify, no one to answer
        if len(body) > limit:
            await _respond(send, _too_large())
            return
        try:
            answer = await loop.run_in_executor(
                self.executor, _retried, services.accept_webhook, account, headers, body
            )
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("database unavailable on %s: %s", scope["path"], exc)
            await _respond(send, unavailable())
            return
        await _respond(send, answer_response(answer))

    def _account(self, kind: str, slug: str) -> ChannelAccount | None:
        """The account, from memory while it is fresh; unknown ones are not remembered."""
        now = time.monotonic()
        cached = self.accounts.get((kind, slug))
        if cached is not None and cached[0] > now:
            return cached[1]
        account: ChannelAccount | None = _retried(services.webhook_account, kind, slug)
        if account is not None:
            expires = now + settings.ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS
            self.accounts[(kind, slug)] = (expires, account)
        return account


def _retried(call: Callable[..., Any], *args: Any) -> Any:
    """`call` on this thread's kept connection; once more on a new one if that one had
    died (a database restart). Both calls are safe to repeat: a lookup, and an INSERT that
    ignores rows already there."""
    try:
        return call(*args)
    except UNAVAILABLE_ERRORS:
        _drop_connection()
    try:
        return call(*args)
    except UNAVAILABLE_ERRORS:
        _drop_connection()
        raise


def _drop_connection() -> None:
    with contextlib.suppress(*UNAVAILABLE_ERRORS):
        connection.close()


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body (reading stops past `limit`), or None if the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            return b"".join(chunks)


def _host_allowed(scope: Scope) -> bool:
    host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _too_large() -> HttpResponse:
    return JsonResponse({"code": "too_large", "detail": "Payload too large."}, status=413)


async def _respond(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"content-length", str(len(response.content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
