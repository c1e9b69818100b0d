"""The agents' live socket over a real server on the Redis channel layer: staff only
(checked on connect and on every subscribe), queue events as they commit, a ticket's own
events once subscribed, who else is viewing or typing in it, and events raised in
another server process."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from complaints import services
from complaints.choices import AuthorKind, Channel
from complaints.roles import AGENTS_GROUP
from tests.factories import CategoryFactory, CitizenFactory
from tests.servers import asgi_server, server_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def cookie_of(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def agents_socket(base: str, cookie: str | None) -> Any:
    headers = {"Cookie": cookie} if cookie else {}
    return connect(
        base.replace("http://", "ws://") + "/ws/agents/",
        origin=base,  # type: ignore[arg-type]
        additional_headers=headers,
    )


async def frame_of(socket: ClientConnection, kind: str, timeout: float = 5) -> dict[str, Any]:
    """The next frame of `kind` (others are skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def send(socket: ClientConnection, **frame: Any) -> None:
    await socket.send(json.dumps(frame))


def opened() -> Any:
    return services.open_ticket(
        citizen=CitizenFactory(), channel=Channel.WHATSAPP, subject="Air mati", body="Tiga hari."
    )


def test_anonymous_and_non_staff_are_refused(
    chat_server: str,
    partner_user: Any,
    citizen_user: Any,
) -> None:
    async def handshake(cookie: str | None) -> int:
        try:
            async with agents_socket(chat_server, cookie):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    for cookie in (None, cookie_of(partner_user), cookie_of(citizen_user), "sessionid=forged"):
        assert asyncio.run(handshake(cookie)) == 403


def test_queue_and_ticket_events_arrive_live(chat_server: str, agent: Any) -> None:
    cookie = cookie_of(agent)

    async def watch() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with agents_socket(chat_server, cookie) as socket:
            await asyncio.sleep(0.2)  # joined the queue group
            ticket = await asyncio.to_thread(opened)
            created = await frame_of(socket, "ticket.created")
            await send(socket, type="subscribe", ticket=ticket.pk)
            subscribed = await frame_of(socket, "subscribed")
            await asyncio.to_thread(
                services.post_message,
                ticket=ticket,
                body="Kami cek.",
                author_kind=AuthorKind.AGENT,
                by=agent,
            )
            message = await frame_of(socket, "message.created")
            await send(socket, type="subscribe", ticket=10**9)
            missing = await frame_of(socket, "error")
            return created | {"pk": ticket.pk}, subscribed, message, missing

    created, subscribed, message, missing = asyncio.run(watch())
    assert created["ticket"] == created["pk"] and created["number"].startswith("ADU-")
    assert subscribed == {"type": "subscribed", "ticket": created["pk"]}
    assert message["ticket"] == created["pk"] and isinstance(message["message"], int)
    assert (missing["code"], missing["ticket"]) == ("not_found", 10**9)


def test_agents_on_the_same_ticket_see_each_other(
    chat_server: str,
    agent: Any,
    other_agent: Any,
) -> None:
    first, second = cookie_of(agent), cookie_of(other_agent)
    ticket = opened()

    async def collide() -> list[dict[str, Any]]:
        seen = []
        async with agents_socket(chat_server, first) as one:
            await send(one, type="subscribe", ticket=ticket.pk)
            await frame_of(one, "subscribed")
            async with agents_socket(chat_server, second) as two:
                await send(two, type="subscribe", ticket=ticket.pk)
                seen.append(await frame_of(one, "agent.presence"))  # two arrived
                seen.append(await frame_of(two, "agent.presence"))  # one was there
                await send(one, type="presence", ticket=ticket.pk, state="typing")
                seen.append(await frame_of(two, "agent.presence"))
            seen.append(await frame_of(one, "agent.presence"))  # two left
        return seen

    arrived, there, typing, left = asyncio.run(collide())
    assert (arrived["agent"]["name"], arrived["state"]) == ("agent-2", "viewing")
    assert (there["agent"]["name"], there["state"]) == ("agent-1", "viewing")
    assert (typing["agent"]["name"], typing["state"]) == ("agent-1", "typing")
    assert (left["agent"]["name"], left["state"]) == ("agent-2", "left")


def test_an_agent_demoted_meanwhile_is_cut_off_at_the_next_subscribe(
    chat_server: str,
    agent: Any,
) -> None:
    cookie = cookie_of(agent)
    ticket = opened()

    def demote() -> None:
        agent.groups.remove(Group.objects.get(name=AGENTS_GROUP))

    async def demoted() -> int:
        async with agents_socket(chat_server, cookie) as socket:
            await asyncio.to_thread(demote)
            await send(socket, type="subscribe", ticket=ticket.pk)
            try:
                await asyncio.wait_for(socket.recv(), 5)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else -1
            return 0

    assert asyncio.run(demoted()) == 4403


def test_an_event_raised_in_one_server_reaches_a_socket_on_another(
    chat_server: str, agent: Any, citizen_user: Any, settings: Any
) -> None:
    """Scale-out: two server processes on one Redis channel layer."""
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }
    cookie, token = cookie_of(agent), services.api_token_for(citizen_user)
    CategoryFactory(code="jalan")

    async def across(other: str) -> dict[str, Any]:
        async with agents_socket(chat_server, cookie) as socket:
            await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=other, timeout=10) as api:
                created = await api.post(
                    "/api/v1/tickets/",
                    json={
                        "category": "jalan",
                        "subject": "Jalan berlubang",
                        "description": "Besar.",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert created.status_code == 201, created.text
            event = await frame_of(socket, "ticket.created")
            return event | {"number_made": created.json()["number"]}

    with asgi_server(env) as other:
        event = asyncio.run(across(other))
    assert event["number"] == event["number_made"]
