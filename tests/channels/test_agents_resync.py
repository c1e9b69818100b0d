"""T-c for the agents (short form): Redis, the channel layer, stops while a ticket an agent
has open receives messages. The agent's page reconnects within 10 s of Redis returning,
reads what it missed over REST by its cursor (every message of the ticket), and live
events flow again — against the real server, worker and a Redis this test restarts.

The client here does what the ticket page's live.js does: one socket to /ws/agents/,
subscribed to the ticket; on every (re)connect and every event for the ticket it reads
`…/live/?after=<last message id>`; when the socket closes it reconnects with backoff."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus

from channels_ingest.models import Delivery
from complaints.models import Message, Ticket
from tests.channels.stack import (
    STACK_MARKS,
    full_stack,
    provider,
    wait_for,
    whatsapp_headers,
    whatsapp_text,
)
from tests.complaints.test_agent_socket import agents_socket, cookie_of, frame_of, send
from tests.results import write_result

pytestmark = STACK_MARKS
__all__ = ["provider"]  # the provider API double, used as a fixture here


def follow_up(n: int) -> bytes:
    """Citizen 0 writes again: the same sender, a new message id."""
    payload = json.loads(whatsapp_text(0))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.RESYNC{n}"
    message["text"]["body"] = f"Tambahan {n}: masih belum datang"
    return json.dumps(payload).encode()


class AgentPage:
    """The open ticket page's live part, in a thread of its own."""

    def __init__(self, base: str, cookie: str, ticket: int) -> None:
        self.base, self.cookie, self.ticket = base, cookie, ticket
        self.cursor = 0
        self.shown: dict[int, float] = {}  # message id: when the page had it
        self.connected: list[float] = []  # when each (re)connect was subscribed
        self.closed: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(),), daemon=True)

    def __enter__(self) -> AgentPage:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    async def _run(self) -> None:
        retry = 0.25
        while not self._stop.is_set():
            try:
                async with agents_socket(self.base, self.cookie) as socket:
                    await send(socket, type="subscribe", ticket=self.ticket)
                    await frame_of(socket, "subscribed")
                    self.connected.append(time.monotonic())
                    retry = 0.25
                    await self._resync()
                    while not self._stop.is_set():
                        try:
                            frame = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                        except TimeoutError:
                            continue
                        if frame.get("ticket") == self.ticket and frame["type"].startswith(
                            "message."
                        ):
                            await self._resync()
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError, httpx.HTTPError):
                self.closed.append(time.monotonic())
            await asyncio.sleep(retry)
            retry = min(retry * 2, 2.0)

    async def _resync(self) -> None:
        url = f"{self.base}/{settings.ADUAN_ADMIN_URL}complaints/ticket/{self.ticket}/live/"
        async with httpx.AsyncClient(timeout=5, headers={"Cookie": self.cookie}) as http:
            answer = await http.get(url, params={"after": self.cursor})
        answer.raise_for_status()
        for message in answer.json()["messages"]:
            self.shown.setdefault(message["id"], time.monotonic())
            self.cursor = max(self.cursor, message["id"])


@pytest.mark.django_db(transaction=True)
def test_an_agents_page_resyncs_after_a_channel_layer_outage(
    accounts: Any, provider: str, agent: Any
) -> None:
    processed = Delivery.objects.filter(state=Delivery.State.PROCESSED)
    with (
        full_stack(provider) as stack,
        httpx.Client(base_url=stack.base, timeout=10) as http,
    ):

        def post(body: bytes) -> int:
            headers = whatsapp_headers(body)
            return http.post("/webhooks/whatsapp/uji/", content=body, headers=headers).status_code

        assert post(whatsapp_text(0)) == 200
        assert wait_for(lambda: processed.count() == 1, 60)
        ticket = Ticket.objects.get()
        with AgentPage(stack.base, cookie_of(agent), ticket.pk) as page:
            assert wait_for(lambda: bool(page.connected) and len(page.shown) == 2, 20)

            stack.redis.stop()
            during = [post(follow_up(n)) for n in range(1, 6)]
            time.sleep(2)  # the page notices the layer is gone (or not) meanwhile
            stack.redis.start()
            returned = time.monotonic()
            reconnected = wait_for(lambda: any(t > returned for t in page.connected), 10)
            reconnect_seconds = min((t for t in page.connected if t > returned), default=0.0)
            assert wait_for(lambda: processed.count() == 6, 90)
            every = set(Message.objects.filter(ticket=ticket).values_list("pk", flat=True))
            resynced = wait_for(lambda: every <= set(page.shown), 15)

            assert post(follow_up(6)) == 200
            sent = time.monotonic()
            assert wait_for(lambda: processed.count() == 7, 30)
            newest = Message.objects.filter(ticket=ticket).latest("pk").pk
            pushed = wait_for(lambda: newest in page.shown, 10)
            push_seconds = page.shown.get(newest, sent) - sent

    write_result(
        "T-c-agents-short",
        {
            "acknowledged_during_outage": during.count(200),
            "reconnected_after_return_seconds": round(reconnect_seconds - returned, 2)
            if reconnected
            else None,
            "messages_on_ticket": len(every),
            "shown_after_resync": len(every & set(page.shown)),
            "new_event_after_recovery_seconds": round(push_seconds, 2),
            "socket_closes": len(page.closed),
        },
    )
    assert during == [200] * 5
    assert reconnected, "the page did not reconnect within 10 s of Redis returning"
    assert resynced, f"missing after resync: {sorted(every - set(page.shown))}"
    assert pushed and push_seconds <= 10
