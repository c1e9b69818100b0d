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
import time
import weakref
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer

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
        loop.call_soon_threadsafe(_enqueue, layer, list(groups), event)
        return
    send = async_to_sync(layer.group_send)
    for group in groups:
        try:
            send(group, event)
        except Exception:
            logger.exception("live push to %s failed", group)


# Groups sent to at once per process. A commit that opens a hundred tickets schedules
# hundreds of sends together; unbounded, they exhausted the channel layer's Redis
# connections (MaxConnectionsError) and were lost. Queued here, they wait their turn.
MAX_SENDS = 4
# Events waiting per process while Redis does not answer; beyond it the oldest are
# dropped (clients resync over REST after an outage, RELIABILITY T-c).
MAX_WAITING = 20_000


# A round that fails (Redis down, or a connection left stale by a Redis restart) is tried
# again after a pause doubling up to RETRY_CAP seconds; events older than MAX_AGE are then
# dropped: a page that missed them reads them over REST when its socket comes back.
RETRY_FIRST = 0.2
RETRY_CAP = 5.0
MAX_AGE = 120.0


class _Outbox:
    """A loop's events waiting to be sent, sent in rounds: each round asks Redis at once
    which of its groups anyone listens to (one pipelined round trip) and sends only to
    those. Most groups have no listener at the moment (a ticket no agent has open), and
    the layer's own `group_send` costs two round trips to find that out, per event."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.waiting: list[tuple[str, dict[str, Any], float]] = []
        self.sending = False
        self.dropped = 0

    def add(self, groups: list[str], event: dict[str, Any]) -> None:
        now = time.monotonic()
        self.waiting.extend((group, event, now) for group in groups)
        self._bound()
        if not self.sending:
            self.sending = True
            asyncio.get_running_loop().create_task(self._send_all())

    def _bound(self) -> None:
        if len(self.waiting) > MAX_WAITING:
            self.dropped += len(self.waiting) - MAX_WAITING
            del self.waiting[: len(self.waiting) - MAX_WAITING]

    async def _send_all(self) -> None:
        pause = RETRY_FIRST
        try:
            while self.waiting:
                round_, self.waiting = self.waiting, []
                try:
                    await self._send([(group, event) for group, event, _at in round_])
                    pause = RETRY_FIRST
                except Exception as exc:
                    logger.warning(
                        "live push of %d events failed (%r); again in %.1f s",
                        len(round_),
                        exc,
                        pause,
                    )
                    oldest = time.monotonic() - MAX_AGE
                    kept = [item for item in round_ if item[2] >= oldest]
                    self.dropped += len(round_) - len(kept)
                    self.waiting = kept + self.waiting
                    self._bound()
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_CAP)
                if self.dropped:
                    logger.error("live push: %d events dropped, Redis unreachable", self.dropped)
                    self.dropped = 0
        finally:
            self.sending = False

    async def _send(self, round_: list[tuple[str, dict[str, Any]]]) -> None:
        by_group: dict[str, list[dict[str, Any]]] = {}
        for group, event in round_:  # in order, per group
            by_group.setdefault(group, []).append(event)
        listened = await _listened(self.layer, list(by_group))
        limit = asyncio.Semaphore(MAX_SENDS)

        async def send(group: str) -> None:
            async with limit:
                for event in by_group[group]:
                    await self.layer.group_send(group, event)

        outcomes = await asyncio.gather(*map(send, listened), return_exceptions=True)
        for group, outcome in zip(listened, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                logger.error("live push to %s failed: %r", group, outcome)


async def _listened(layer: Any, groups: list[str]) -> list[str]:
    """The `groups` that have members now. On the Redis layer, one pipelined ZCARD per
    Redis host (its own group keys and hashing, channels_redis 4); any other layer is
    asked nothing and every group is sent to."""
    if not isinstance(layer, RedisChannelLayer):
        return groups
    by_host: dict[int, list[str]] = {}
    for group in groups:
        by_host.setdefault(layer.consistent_hash(group), []).append(group)
    listened = []
    for host, names in by_host.items():
        pipe = layer.connection(host).pipeline(transaction=False)
        for group in names:
            pipe.zcard(layer._group_key(group))
        counts = await pipe.execute()
        listened += [group for group, count in zip(names, counts, strict=True) if count]
    return listened


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = (
    weakref.WeakKeyDictionary()
)


def _enqueue(layer: Any, groups: list[str], event: dict[str, Any]) -> None:
    """On the loop: adds the event to the loop's outbox."""
    loop = asyncio.get_running_loop()
    outbox = _outboxes.get(loop)
    if outbox is None or outbox.layer is not layer:
        outbox = _outboxes[loop] = _Outbox(layer)
    outbox.add(groups, event)


class LiveServer:
    """ASGI middleware recording the server's event loop for `publish`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        serve_from(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


# How often, and how many times, a consumer's channel-layer receive is cancelled again
# when it outlives its first cancellation.
RECANCEL_SECONDS = 0.5
RECANCEL_TIMES = 20


class CancellableReceive:
    """For consumers: the channel-layer receive stops when the consumer does.

    Channels cancels a consumer's pending `receive` when the socket closes and waits for
    it. After a Redis restart, redis-py (through its retry of a blocking pop) can swallow
    that cancellation and go on popping: the consumer then never finishes, and the
    server's graceful shutdown waits for it forever. Here the receive runs in a task of
    its own; the consumer's wait on it ends at once when cancelled, and the task is
    cancelled again until it really stops (it holds a Redis connection meanwhile).
    """

    @property
    def channel_receive(self) -> Any:
        return self._receive_until_cancelled

    @channel_receive.setter
    def channel_receive(self, receive: Any) -> None:
        self._layer_receive = receive

    async def _receive_until_cancelled(self) -> Any:
        task = asyncio.ensure_future(self._layer_receive())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()
            asyncio.get_running_loop().create_task(_cancel_until_done(task))
            raise


async def _cancel_until_done(task: asyncio.Future[Any]) -> None:
    for _attempt in range(RECANCEL_TIMES):
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
        if task.done():
            if not task.cancelled() and task.exception() is not None:
                logger.debug("channel-layer receive ended with %r", task.exception())
            return
        task.cancel()
    logger.error("a channel-layer receive outlived %d cancellations", RECANCEL_TIMES)
