"""The agents' live socket: `/ws/agents/` (session auth, staff only).

On connect the agent joins the queue group and receives every queue event (new ticket,
new message, status change, assignment, SLA warning and breach, partner update) as
`{"type": <kind>, "ticket": <id>, "number": ..., "status": ..., "version": ..., ...}`
— ids and states only; the page reads what it shows over HTTP. Frames from the agent:

- `{"type": "subscribe", "ticket": <id>}`: the ticket's own events (its messages, its
  delivery receipts) and the other agents on it; answered `subscribed` or `error`;
- `{"type": "unsubscribe", "ticket": <id>}`;
- `{"type": "presence", "ticket": <id>, "state": "viewing" | "typing" | "left"}`: told to
  the others on the ticket as `agent.presence` (collision detection); a newcomer is told
  who is there by each of them.

The role is checked on connect (by `AgentGate`, which refuses anyone else at the
handshake: HTTP 403) and again on every subscribe (a deactivated or demoted account is
closed with 4403).
"""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model

from complaints.live import CancellableReceive
from complaints.models import Ticket
from complaints.roles import STAFF_ROLES, role_of
from complaints.services.common import QUEUE_GROUP

MAX_FRAME = 4096
PRESENCE_STATES = frozenset({"viewing", "typing", "left"})
MAX_SUBSCRIPTIONS = 50
FORWARDED = ("ticket.", "message.", "sla.")


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


class AgentGate:
    """Refuses non-staff sockets before a consumer (and its channel-layer receive) exists:
    a consumer closed within moments of starting could leave its Redis receive stuck on
    cancellation, holding the server's shutdown (as `webchat.consumers.ChatGate`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if await database_sync_to_async(AgentConsumer.is_staff)(scope.get("user")):
            return await self.app(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})  # before accept: HTTP 403
        return None


class AgentConsumer(CancellableReceive, AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    async def connect(self) -> None:
        self.watching: set[int] = set()
        self.states: dict[int, str] = {}
        user = self.scope["user"]  # staff: AgentGate let it through
        self.agent = {"id": user.pk, "name": user.get_full_name() or user.get_username()}
        await self.channel_layer.group_add(QUEUE_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for ticket in list(getattr(self, "watching", ())):
            await self._leave(ticket)
        await self.channel_layer.group_discard(QUEUE_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            await self._error("bad_frame")
            return
        try:
            frame = json.loads(text_data)
            kind, ticket = frame["type"], frame.get("ticket")
        except (ValueError, TypeError, KeyError):
            await self._error("bad_frame")
            return
        if not isinstance(ticket, int) or isinstance(ticket, bool):
            await self._error("bad_ticket")
            return
        if kind == "subscribe":
            await self._subscribe(ticket)
        elif kind == "unsubscribe":
            await self._leave(ticket)
        elif kind == "presence" and frame.get("state") in PRESENCE_STATES:
            if ticket in self.watching:
                await self._tell(ticket, frame["state"])
        else:
            await self._error("bad_frame")

    async def _subscribe(self, ticket: int) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(self.is_staff)(user, fresh=True):
            await self.close(code=4403)
            return
        if ticket not in self.watching:
            if len(self.watching) >= MAX_SUBSCRIPTIONS:
                await self._error("too_many", ticket)
                return
            if not await database_sync_to_async(self._exists)(ticket):
                await self._error("not_found", ticket)
                return
            self.watching.add(ticket)
            await self.channel_layer.group_add(ticket_group(ticket), self.channel_name)
        await self.send(json.dumps({"type": "subscribed", "ticket": ticket}))
        await self._tell(ticket, "viewing", ask=True)

    async def _leave(self, ticket: int) -> None:
        if ticket in self.watching:
            await self._tell(ticket, "left")
            self.watching.discard(ticket)
            self.states.pop(ticket, None)
            await self.channel_layer.group_discard(ticket_group(ticket), self.channel_name)

    async def _tell(self, ticket: int, state: str, *, ask: bool = False) -> None:
        self.states[ticket] = state
        await self.channel_layer.group_send(
            ticket_group(ticket),
            {
                "type": "agent.presence",
                "ticket": ticket,
                "agent": self.agent,
                "state": state,
                "reply_to": self.channel_name if ask else "",
            },
        )

    async def _error(self, code: str, ticket: int | None = None) -> None:
        await self.send(json.dumps({"type": "error", "code": code, "ticket": ticket}))

    # --- From the channel layer ---------------------------------------------------------

    async def agent_presence(self, event: dict[str, Any]) -> None:
        """Another agent's presence on a ticket this one watches; a newcomer asking who is
        there gets this agent's own state, sent to it alone."""
        if event["agent"]["id"] == self.agent["id"]:
            return  # one's own announcement
        ticket = event["ticket"]
        await self.send(
            json.dumps(
                {
                    "type": "agent.presence",
                    "ticket": ticket,
                    "agent": event["agent"],
                    "state": event["state"],
                }
            )
        )
        if event.get("reply_to") and ticket in self.watching:
            await self.channel_layer.send(
                event["reply_to"],
                {
                    "type": "agent.presence",
                    "ticket": ticket,
                    "agent": self.agent,
                    "state": self.states.get(ticket, "viewing"),
                    "reply_to": "",
                },
            )

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Queue and ticket events go out as they are; the rest as Channels does."""
        if str(message.get("type", "")).startswith(FORWARDED):
            await self.send(json.dumps(message, default=str))
            return
        await super().dispatch(message)

    # --- Checks -------------------------------------------------------------------------

    @staticmethod
    def is_staff(user: Any, *, fresh: bool = False) -> bool:
        if user is None or not user.is_authenticated:
            return False
        if fresh:  # the account as it is now, not as it was at connect
            user = get_user_model().objects.filter(pk=user.pk).first()
            if user is None:
                return False
        return role_of(user) in STAFF_ROLES

    @staticmethod
    def _exists(ticket: int) -> bool:
        return bool(Ticket.objects.filter(pk=ticket).exists())
