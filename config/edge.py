"""What the layers answering on the server's event loop share: ASGI types, reading a body,
sending a Django response. Those layers answer only what they are sure of and leave the
rest to Django, so every answer they give is one Django's views would give."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.http import HttpResponse

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


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
