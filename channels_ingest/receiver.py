"""Provider deliveries (POST /webhooks/<kind>/<slug>/) answered on the server's event loop.

A delivery needs four things: its bytes, its account, a signature check and an INSERT.
Going through Django's request cycle (middleware, URL resolution, a connection from the
pool and its health check per request) cost many times that. This ASGI layer reads and
verifies the body on the event loop with the view's own service function
(`services.read_webhook`), and stores what arrives together in one INSERT, one commit
(`services.save_deliveries`, on a thread that keeps its connection): while one group is
being written, the next gathers. Every sender is answered only after the commit that
holds its delivery. Anything else — handshakes, unknown or inactive accounts, an account
without its secret, a host not allowed — goes on to Django, whose view gives the same
answers.

Accounts are remembered for `ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS`: a secret changed or an
account deactivated in the admin takes effect within that time in every server process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.http.request import split_domain_port, validate_host

from channels_ingest import services
from channels_ingest.models import ChannelAccount, Delivery
from channels_ingest.views import WEBHOOK_KINDS, answer_response
from config.edge import App, Batcher, Receive, Scope, Send, declared_length, read_body, respond
from config.health import UNAVAILABLE_ERRORS, drop_connection, unavailable

logger = logging.getLogger(__name__)


# A delivery not stored by then is answered 503 (the provider retries; storing is idempotent).
STORE_TIMEOUT = 30.0
PATH = re.compile(r"^/webhooks/(?P<kind>[a-z]+)/(?P<slug>[-a-zA-Z0-9_]+)/$")


class WebhookReceiver:
    """ASGI middleware: provider deliveries here, everything else to `app`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(
            settings.ADUAN_WEBHOOK_THREADS, thread_name_prefix="aduan-webhook"
        )
        self.accounts: dict[tuple[str, str], tuple[float, ChannelAccount]] = {}
        self.store = GroupInsert(self.executor)

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
        key = (match["kind"], match["slug"])
        try:
            account = self._remembered(key) or await loop.run_in_executor(
                self.executor, self._account, key
            )
        except UNAVAILABLE_ERRORS as exc:
            logger.warning("database unavailable on %s: %s", scope["path"], exc)
            await respond(send, unavailable())
            return
        if account is None or not account.webhook_secret:
            await self.app(scope, receive, send)  # Django's 404 or 503, as for a GET
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if declared_length(headers) > limit:
            await respond(send, _too_large())
            return
        body = await read_body(receive, limit)
        if body is None:
            return  # the sender hung up mid-body: nothing to verify, no one to answer
        if len(body) > limit:
            await respond(send, _too_large())
            return
        verdict = services.read_webhook(account, headers, body)
        if isinstance(verdict, services.Answer):
            await respond(send, answer_response(verdict))
            return
        try:
            await self.store.save(verdict)
        except (*UNAVAILABLE_ERRORS, TimeoutError) as exc:
            logger.warning("database unavailable on %s: %s", scope["path"], exc)
            await respond(send, unavailable())
            return
        await respond(send, answer_response(services.ACCEPTED))

    def _remembered(self, key: tuple[str, str]) -> ChannelAccount | None:
        """The account read less than ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS ago, if any."""
        cached = self.accounts.get(key)
        return cached[1] if cached is not None and cached[0] > time.monotonic() else None

    def _account(self, key: tuple[str, str]) -> ChannelAccount | None:
        """The account, read now and remembered; unknown ones are not remembered."""
        account: ChannelAccount | None = _retried(services.webhook_account, *key)
        if account is not None:
            expires = time.monotonic() + settings.ADUAN_CHANNEL_ACCOUNT_CACHE_SECONDS
            self.accounts[key] = (expires, account)
        return account


class GroupInsert:
    """Deliveries from concurrent requests, stored by one INSERT at a time per process
    (`Batcher`: one commit for all that arrived meanwhile). A group PostgreSQL refuses
    for a reason other than being away is stored request by request."""

    MAX_ROWS = 500  # well under PostgreSQL's 65,535 parameters per statement

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.batches: Batcher[list[Delivery], None] = Batcher(
            _store_groups,
            executor,
            writers=lambda: settings.ADUAN_WEBHOOK_WRITERS,
            max_weight=self.MAX_ROWS,
            weight=len,
            shared_errors=UNAVAILABLE_ERRORS,
        )

    async def save(self, rows: list[Delivery]) -> None:
        """Returns once `rows` are committed; raises what storing them raised."""
        await asyncio.wait_for(self.batches.submit(rows), timeout=STORE_TIMEOUT)


def _store_groups(groups: list[list[Delivery]]) -> list[None]:
    try:
        _retried(services.save_deliveries, [row for rows in groups for row in rows])
    except UNAVAILABLE_ERRORS:
        raise
    except Exception:
        if len(groups) == 1:
            logger.exception("delivery not stored")
        raise
    return [None] * len(groups)


def _retried(call: Callable[..., Any], *args: Any) -> Any:
    """`call` on this thread's kept connection; once more on a new one if that one had
    died (a database restart). Both calls are safe to repeat: a lookup, and an INSERT that
    ignores rows already there."""
    try:
        return call(*args)
    except UNAVAILABLE_ERRORS:
        drop_connection()
    try:
        return call(*args)
    except UNAVAILABLE_ERRORS:
        drop_connection()
        raise


def _host_allowed(scope: Scope) -> bool:
    host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _too_large() -> HttpResponse:
    return JsonResponse({"code": "too_large", "detail": "Payload too large."}, status=413)
