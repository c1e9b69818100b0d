"""Live pushes on the channel layer, sent from synchronous code without blocking it.

Inside the ASGI server, views run on worker threads while WebSocket consumers live on the
server's event loop. Sends are handed to that loop and not waited for: the channel layer
keeps its Redis connections there, and an in-memory layer (the embedded mode) is only
reachable from it. Celery worker processes run a loop of their own for the same purpose
(`serve_in_background`): a new loop and Redis connection per send took a fifth of a
worker's time. Elsewhere (management commands, eager tasks) a send runs to completion
before returning.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Coroutine, Iterable
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None


def serve_from(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the ASGI application: the loop its consumers run on."""
    global _server_loop  # one loop per server process
    _server_loop = loop


def serve_in_background() -> None:
    """Runs this process's sends on an event loop thread of its own (a Celery worker)."""
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="aduan-live", daemon=True).start()
    serve_from(loop)


def publish(groups: Iterable[str], event: dict[str, Any]) -> None:
    """Send `event` to every group in `groups`; failures are logged, never raised."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _server_loop
    if loop is not None and loop.is_running():
        for group in groups:
            sent = asyncio.run_coroutine_threadsafe(_bounded(layer.group_send(group, event)), loop)
            sent.add_done_callback(_log_failure)
        return
    send = async_to_sync(layer.group_send)
    for group in groups:
        try:
            send(group, event)
        except Exception:
            logger.exception("live push to %s failed", group)


# Sends in flight at once per process. A commit that opens a hundred tickets schedules
# hundreds of sends together; unbounded, they exhausted the channel layer's Redis
# connections (MaxConnectionsError) and were lost. Queued here, they wait their turn.
MAX_SENDS = 4
_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def _bounded(send: Coroutine[Any, Any, None]) -> None:
    loop = asyncio.get_running_loop()
    limit = _limits.get(loop)
    if limit is None:
        limit = _limits[loop] = asyncio.Semaphore(MAX_SENDS)
    async with limit:
        await send


def _log_failure(sent: Future[None]) -> None:
    error = sent.exception()
    if error is not None:
        logger.error("live push failed: %r", error)


class LiveServer:
    """ASGI middleware recording the server's event loop for `publish`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        serve_from(asyncio.get_running_loop())
        return await self.app(scope, receive, send)
