"""The web chat socket: `/ws/chat/<conversation>/?t=<token>` (REFERENCE 6).

A citizen opens it with the token from `POST /api/v1/chat/start/`; an agent with the
session cookie. After `hello` the server sends `welcome`, replays the events after the
client's `last_seq`, then streams live events. The consumer joins the conversation's
group before reading the replay and holds live events until the replay is out, so an
event committed in between is neither lost nor sent twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.live import CancellableReceive
from complaints.roles import Role, role_of
from complaints.selectors import tickets_visible_to
from webchat import services
from webchat.models import ChatEvent, Conversation

SUBPROTOCOL = "pengaduan.chat.v1"
MAX_FRAME = 64 * 1024
HELLO_SECONDS = 10
HEARTBEAT_SECONDS = 25
FRAMES_PER_SECOND = 10
ABUSE_STRIKES = 50  # rate-limited frames before the socket is closed (4429)
TYPING_EVERY = 3.0

CLOSE_TOKEN = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_PROTOCOL = 4400
CLOSE_NO_HELLO = 4408
CLOSE_ABUSE = 4429


class ChatConsumer(CancellableReceive, AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    conversation: Conversation
    role: str
    group: str

    async def connect(self) -> None:
        self.ready = False
        self.held: list[dict[str, Any]] = []
        self.sent_seq = 0
        self.window = (0.0, 0)
        self.strikes = 0
        self.typing_at = 0.0
        self.conversation, self.role = self.scope["chat"]
        self.group = services.group_name(self.conversation.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(subprotocol=SUBPROTOCOL)
        self.hello_timer = asyncio.get_running_loop().call_later(
            HELLO_SECONDS, lambda: asyncio.ensure_future(self._no_hello())
        )

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if hasattr(self, "hello_timer"):
            self.hello_timer.cancel()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.close(code=CLOSE_PROTOCOL)  # binary frames are not part of the protocol
            return
        if len(text_data.encode()) > MAX_FRAME:
            await self._error("too_large", _("Pesan terlalu besar."))
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("invalid_frame", _("Bingkai tidak dapat dibaca."))
            return
        if not isinstance(content, dict) or not isinstance(content.get("data", {}), dict):
            await self._error("invalid_frame", _("Bingkai harus berupa objek JSON."))
            return
        ref = content.get("id") if isinstance(content.get("id"), str) else None
        if not self._within_rate():
            await self._error("rate_limited", _("Terlalu cepat; tunggu sebentar."), ref, 1000)
            self.strikes += 1
            if self.strikes >= ABUSE_STRIKES:
                await self.close(code=CLOSE_ABUSE)
            return
        kind, data = content.get("type"), content.get("data") or {}
        if not self.ready and kind != "hello":
            await self.close(code=CLOSE_PROTOCOL)  # `hello` comes first
            return
        handler = {
            "hello": self._hello,
            "message.send": self._send_message,
            "read": self._read,
            "typing": self._typing,
            "history": self._history,
            "ping": self._ping,
        }.get(kind if isinstance(kind, str) else "")
        if handler is None:
            await self._error("unknown_type", _("Jenis bingkai tidak dikenal."), ref)
            return
        await handler(data, ref)

    # --- client frames ------------------------------------------------------------------

    async def _hello(self, data: dict[str, Any], ref: str | None) -> None:
        if self.ready:
            await self._error("invalid_frame", _("Salam sudah diterima."), ref)
            return
        self.hello_timer.cancel()
        last_seq = data.get("last_seq", 0)
        if not isinstance(last_seq, int) or last_seq < 0:
            await self.close(code=CLOSE_PROTOCOL)
            return
        welcome, replay, complete = await database_sync_to_async(self._welcome)(last_seq)
        await self._send("welcome", welcome)
        self.sent_seq = last_seq
        for event in replay:
            await self._send_frame(event)
        if not complete:
            await self._send("resync_required", {"reason": "gap_too_large"})
            self.sent_seq = welcome["last_seq"]  # the client reloads over HTTP up to here
        self.ready = True
        for event in self.held:  # live events that arrived during the replay
            await self._send_event(event)
        self.held = []

    async def _send_message(self, data: dict[str, Any], ref: str | None) -> None:
        text, client_msg_id = data.get("text"), data.get("client_msg_id")
        if not isinstance(text, str) or not isinstance(client_msg_id, str):
            await self._error("invalid_frame", _("Pesan harus berisi teks."), ref)
            return
        try:
            event, duplicate = await database_sync_to_async(self._store)(text, client_msg_id)
        except services.ChatError as exc:
            await self._error(exc.code, exc.message, ref)
            return
        ack = {
            "client_msg_id": client_msg_id,
            "seq": event.seq,
            "status": "duplicate" if duplicate else "stored",
        }
        await self._send("ack", ack, ref=ref)

    async def _read(self, data: dict[str, Any], ref: str | None) -> None:
        up_to = data.get("up_to_seq")
        if not isinstance(up_to, int):
            await self._error("invalid_frame", _("up_to_seq harus berupa angka."), ref)
            return
        pointer = await database_sync_to_async(services.mark_read)(
            self.conversation.pk, role=self.role, up_to_seq=up_to
        )
        await self.channel_layer.group_send(
            self.group,
            {"type": "chat.read", "reader": {"role": self.role}, "up_to_seq": pointer},
        )

    async def _typing(self, data: dict[str, Any], ref: str | None) -> None:
        state = data.get("state")
        if state not in ("start", "stop"):
            await self._error("invalid_frame", _("state harus start atau stop."), ref)
            return
        now = time.monotonic()
        if state == "start" and now - self.typing_at < TYPING_EVERY:
            return
        self.typing_at = now
        await self.channel_layer.group_send(
            self.group,
            {"type": "chat.typing", "sender": {"role": self.role}, "state": state},
        )

    async def _history(self, data: dict[str, Any], ref: str | None) -> None:
        before, limit = data.get("before_seq"), data.get("limit", 50)
        if not isinstance(before, int) or not isinstance(limit, int) or not 0 < limit <= 100:
            await self._error("invalid_frame", _("before_seq dan limit (1-100) wajib."), ref)
            return
        events = await database_sync_to_async(services.events_before)(
            self.conversation, before, limit + 1
        )
        has_more = len(events) > limit
        frames = [services.frame(e, self.conversation.public_id) for e in events[-limit:]]
        await self._send("history", {"events": frames, "has_more": has_more}, ref=ref)

    async def _ping(self, data: dict[str, Any], ref: str | None) -> None:
        await self._send("pong", {}, ref=ref)

    # --- group messages -----------------------------------------------------------------

    async def chat_event(self, message: dict[str, Any]) -> None:
        if not self.ready:
            self.held.append(message["frame"])
            return
        await self._send_event(message["frame"])

    async def chat_read(self, message: dict[str, Any]) -> None:
        if self.ready:
            await self._send(
                "read", {"reader": message["reader"], "up_to_seq": message["up_to_seq"]}
            )

    async def chat_typing(self, message: dict[str, Any]) -> None:
        if self.ready and message["sender"]["role"] != self.role:
            data = {"sender": message["sender"], "state": message["state"], "ttl_ms": 6000}
            await self._send("typing", data)

    # --- helpers ------------------------------------------------------------------------

    async def _send_event(self, event: dict[str, Any]) -> None:
        """Events go out in order and without gaps. Pushes can overtake each other on the
        channel layer, so a gap is filled from the database: an event is pushed after its
        commit, and every earlier sequence number was committed before it was allocated."""
        seq = event["seq"]
        if seq <= self.sent_seq:
            return  # sent already (in the replay, or to fill a gap)
        if seq - self.sent_seq > services.REPLAY_LIMIT:
            await self._send("resync_required", {"reason": "gap_too_large"})
        elif seq > self.sent_seq + 1:
            missing = await database_sync_to_async(services.events_after)(
                self.conversation, self.sent_seq, seq - self.sent_seq - 1
            )
            for earlier in missing:
                await self._send_frame(services.frame(earlier, self.conversation.public_id))
        await self._send_frame(event)

    async def _send_frame(self, event: dict[str, Any]) -> None:
        self.sent_seq = event["seq"]
        await self.send(text_data=json.dumps(event))

    async def _send(self, kind: str, data: dict[str, Any], ref: str | None = None) -> None:
        body: dict[str, Any] = {"v": 1, "type": kind, "conv": self.conversation.public_id}
        if ref is not None:
            body["ref"] = ref
        body["ts"] = timezone.now().isoformat(timespec="milliseconds")
        body["data"] = data
        await self.send(text_data=json.dumps(body))

    async def _error(
        self, code: str, message: str, ref: str | None = None, retry_after_ms: int | None = None
    ) -> None:
        data: dict[str, Any] = {"code": code, "message": message}
        if retry_after_ms is not None:
            data["retry_after_ms"] = retry_after_ms
        await self._send("error", data, ref=ref)

    async def _no_hello(self) -> None:
        if not self.ready:
            await self.close(code=CLOSE_NO_HELLO)

    def _within_rate(self) -> bool:
        second = time.monotonic() // 1
        start, count = self.window
        if start != second:
            self.window = (second, 1)
            return True
        self.window = (start, count + 1)
        return count + 1 <= FRAMES_PER_SECOND

    def _welcome(self, last_seq: int) -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
        conversation = Conversation.objects.select_related("ticket").get(pk=self.conversation.pk)
        self.conversation = conversation
        replay = services.events_after(conversation, last_seq, services.REPLAY_LIMIT + 1)
        complete = len(replay) <= services.REPLAY_LIMIT
        replay = replay[: services.REPLAY_LIMIT]
        ticket = conversation.ticket
        welcome = {
            "participant": {"role": self.role},
            "ticket": {"number": ticket.number, "status": ticket.status} if ticket else None,
            "last_seq": conversation.last_seq,
            "read_state": {
                "citizen": conversation.citizen_read_seq,
                "agent": conversation.agent_read_seq,
            },
            "heartbeat_sec": HEARTBEAT_SECONDS,
            "replay": {
                "from_seq": last_seq + 1,
                "to_seq": replay[-1].seq if replay else last_seq,
                "complete": complete,
            },
        }
        frames = [services.frame(event, conversation.public_id) for event in replay]
        return welcome, frames, complete

    def _store(self, text: str, client_msg_id: str) -> tuple[ChatEvent, bool]:
        user = self.scope.get("user") if self.role == ChatEvent.Role.AGENT else None
        return services.send(
            self.conversation.pk, text=text, client_msg_id=client_msg_id, user=user
        )


class ChatGate:
    """Admits a socket to the chat consumer, or refuses it with its close code.

    Refusals are answered here, before a consumer (and its channel-layer receive) exists:
    a consumer closed within moments of starting could leave its Redis receive stuck on
    cancellation, holding the server's shutdown. The browser sees the code only after an
    accept (REFERENCE 6.7), so the gate accepts, then closes.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        code = CLOSE_PROTOCOL
        if SUBPROTOCOL in scope.get("subprotocols", []):
            public_id = scope["url_route"]["kwargs"]["conversation"]
            found = await database_sync_to_async(_participant)(scope, public_id)
            if not isinstance(found, int):
                return await self.app({**scope, "chat": found}, receive, send)
            code = found
        message = await receive()
        if message["type"] != "websocket.connect":
            return None
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if code != CLOSE_PROTOCOL:
            accept["subprotocol"] = SUBPROTOCOL
        await send(accept)
        await send({"type": "websocket.close", "code": code})
        return None


def _participant(scope: dict[str, Any], public_id: str) -> tuple[Conversation, str] | int:
    """(conversation, role) for this socket, or the close code refusing it."""
    token = parse_qs(scope.get("query_string", b"").decode()).get("t", [""])[0]
    if token:
        conversation = services.conversation_for_token(public_id, token)
        if conversation is None:
            return CLOSE_TOKEN
        return conversation, ChatEvent.Role.CITIZEN
    user = scope.get("user")
    if role_of(user) not in (Role.AGENT, Role.SUPERVISOR):
        return CLOSE_TOKEN
    conversation = Conversation.objects.filter(public_id=public_id).first()
    if conversation is None:
        return CLOSE_NOT_FOUND
    ticket_id = conversation.ticket_id
    if ticket_id and not tickets_visible_to(user).filter(pk=ticket_id).exists():
        return CLOSE_FORBIDDEN
    return conversation, ChatEvent.Role.AGENT
