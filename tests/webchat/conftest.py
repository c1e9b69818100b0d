"""A real server for the chat socket, and a small client speaking the chat protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "pengaduan.chat.v1"


@dataclass
class Conversation:
    base: str
    id: str
    token: str
    resume_secret: str
    frame_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    def socket_url(self, token: str | None = None) -> str:
        ws = self.base.replace("http://", "ws://")
        return f"{ws}/ws/chat/{self.id}/?t={token if token is not None else self.token}"

    def open(self, token: str | None = None, protocol: str | None = PROTOCOL) -> Any:
        return connect(
            self.socket_url(token),
            subprotocols=[protocol] if protocol else None,  # type: ignore[list-item]
            origin=self.base,  # type: ignore[arg-type]
        )

    async def frame(self, socket: ClientConnection, kind: str, data: dict[str, Any]) -> str:
        frame_id = f"c-{next(self.frame_ids)}"
        await socket.send(json.dumps({"v": 1, "type": kind, "id": frame_id, "data": data}))
        return frame_id


def start_conversation(base: str, name: str = "Sari") -> Conversation:
    response = httpx.post(f"{base}/api/v1/chat/start/", json={"name": name}, timeout=10)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["socket"] == f"/ws/chat/{body['conversation']}/"
    return Conversation(base, body["conversation"], body["token"], body["resume_secret"])


_held: dict[int, list[dict[str, Any]]] = {}


async def next_frame(socket: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    """The next frame of `kind`. Frames of other kinds read meanwhile are kept for their
    own turn (a pushed event can overtake the ack of the message that caused it), except
    read receipts and typing, which are only ever waited for as they come."""
    import asyncio

    held = _held.setdefault(id(socket), [])
    for index, frame in enumerate(held):
        if frame["type"] == kind:
            return held.pop(index)
    while True:
        raw = await asyncio.wait_for(socket.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        if frame["type"] == kind:
            return frame
        if frame["type"] not in ("read", "typing"):
            held.append(frame)


async def close_code(socket: ClientConnection, timeout: float = 10) -> int:
    """Reads (and drops) frames until the server closes; returns its close code."""
    import asyncio

    from websockets.exceptions import ConnectionClosed

    while True:
        try:
            await asyncio.wait_for(socket.recv(), timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else -1
