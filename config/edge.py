"""What the layers answering on the server's event loop share: ASGI types, reading a body,
sending a Django response. Those layers answer only what they are sure of and leave the
rest to Django, so every answer they give is one Django's views would give."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Executor
from typing import Any, Generic, TypeVar

from django.http import HttpResponse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Item = TypeVar("Item")
Result = TypeVar("Result")

logger = logging.getLogger(__name__)


async def read_body(receive: Receive, limit: int) -> bytes | None:
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


def declared_length(headers: dict[str, str]) -> int:
    """The Content-Length a request declares; 0 when it declares none or nonsense (the
    body read then decides)."""
    try:
        return int(headers.get("content-length") or 0)
    except ValueError:
        return 0


async def respond(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    headers.append((b"content-length", str(len(response.content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})


class Batcher(Generic[Item, Result]):
    """Work from concurrent requests, done together: `run` takes the items that arrived
    while the previous group was running and returns one result per item. It runs on
    `executor`'s threads, at most `writers()` groups at once.

    Each commit waits for the disk: one commit for every request that arrived meanwhile,
    instead of one each, is what lets a server process outrun it. A group that fails with
    one of `shared_errors` (the database being away) fails every request in it; one that
    fails otherwise is run again request by request, so one bad item does not fail the
    others.
    """

    def __init__(
        self,
        run: Callable[[list[Item]], Sequence[Result]],
        executor: Executor,
        *,
        writers: Callable[[], int],
        max_weight: int,
        weight: Callable[[Item], int] = lambda item: 1,
        shared_errors: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.run, self.executor, self.writers = run, executor, writers
        self.max_weight, self.weight, self.shared_errors = max_weight, weight, shared_errors
        self.waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self.running: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item) -> Result:
        """`item`'s result once its group has run; raises what running it raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self.waiting.append((item, future))
        if len(self.running) < self.writers():
            self.running.add(loop.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                await self._run(self._next_group())
        finally:
            # At once, not in a done callback: a request arriving between this task's
            # last look at `waiting` and a callback would find no one coming for it.
            task = asyncio.current_task()
            if task is not None:
                self.running.discard(task)

    async def _run(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(
                self.executor, self.run, [item for item, _future in group]
            )
        except self.shared_errors as exc:
            _settle(group, error=exc)
        except Exception as exc:
            if len(group) == 1:
                _settle(group, error=exc)
            else:
                for request in group:
                    await self._run([request])
        else:
            _settle(group, results=results)

    def _next_group(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        """The requests waiting longest, up to `max_weight` in all (always at least one)."""
        taken = weight = 0
        while taken < len(self.waiting) and (taken == 0 or weight < self.max_weight):
            weight += self.weight(self.waiting[taken][0])
            taken += 1
        group, self.waiting = self.waiting[:taken], self.waiting[taken:]
        return group


def _settle(
    group: list[tuple[Any, asyncio.Future[Any]]],
    *,
    results: Sequence[Any] = (),
    error: BaseException | None = None,
) -> None:
    for index, (_item, future) in enumerate(group):
        if future.done():  # the requester went away
            continue
        if error is None:
            future.set_result(results[index])
        else:
            future.set_exception(error)
