"""Web chat over the real socket: the ticket number at once, resends that store once,
reconnects that miss nothing, agents' replies live, and refusals with their close codes."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from complaints import services
from complaints.choices import AuthorKind, Channel, DeliveryStatus, Direction
from complaints.models import Message, Ticket
from tests.webchat.conftest import Conversation, close_code, next_frame, start_conversation
from webchat.models import ChatEvent

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _hello(chat: Conversation, socket: Any, last_seq: int = 0) -> dict[str, Any]:
    await chat.frame(socket, "hello", {"last_seq": last_seq})
    return await next_frame(socket, "welcome")


async def _say(chat: Conversation, socket: Any, text: str, client_msg_id: str) -> dict[str, Any]:
    ref = await chat.frame(socket, "message.send", {"client_msg_id": client_msg_id, "text": text})
    ack = await next_frame(socket, "ack")
    assert ack["ref"] == ref
    return ack


def test_first_message_opens_a_ticket_and_the_number_comes_back_at_once(chat_server: str) -> None:
    chat = start_conversation(chat_server)

    async def talk() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with chat.open() as socket:
            assert socket.subprotocol == "pengaduan.chat.v1"
            welcome = await _hello(chat, socket)
            assert welcome["data"]["last_seq"] == 0
            assert welcome["data"]["ticket"] is None
            ack = await _say(chat, socket, "Lampu jalan mati di Jl. Kenanga", "m-1")
            events = [await next_frame(socket, "event"), await next_frame(socket, "event")]
            return ack, events

    ack, events = asyncio.run(talk())

    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WEBCHAT
    assert ack["data"] == {"client_msg_id": "m-1", "seq": 1, "status": "stored"}
    mine, system = events
    assert (mine["seq"], mine["data"]["sender"]["role"], mine["data"]["text"]) == (
        1,
        "citizen",
        "Lampu jalan mati di Jl. Kenanga",
    )
    assert system["seq"] == 2
    assert system["data"]["kind"] == "system"
    assert system["data"]["ticket"]["number"] == ticket.number
    assert ticket.number in system["data"]["text"]
    assert ticket.messages.get().body == "Lampu jalan mati di Jl. Kenanga"


def test_a_resent_message_is_stored_once(chat_server: str) -> None:
    chat = start_conversation(chat_server)
    client_msg_id = str(uuid.uuid4())

    async def talk() -> list[dict[str, Any]]:
        acks = []
        async with chat.open() as socket:
            await _hello(chat, socket)
            acks.append(await _say(chat, socket, "Sampah menumpuk", client_msg_id))
        async with chat.open() as socket:  # the widget resends after a reconnect
            await _hello(chat, socket, last_seq=0)
            acks.append(await _say(chat, socket, "Sampah menumpuk", client_msg_id))
            acks.append(await _say(chat, socket, "Sampah menumpuk", client_msg_id))
        return acks

    first, second, third = asyncio.run(talk())

    assert first["data"]["status"] == "stored"
    assert second["data"] == third["data"] == {**first["data"], "status": "duplicate"}
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1
    assert ChatEvent.objects.filter(client_msg_id=client_msg_id).count() == 1


def test_reconnect_replays_what_was_missed_and_agent_replies_arrive_live(
    chat_server: str, agent: Any
) -> None:
    chat = start_conversation(chat_server)

    async def first_visit() -> None:
        async with chat.open() as socket:
            await _hello(chat, socket)
            await _say(chat, socket, "Air PDAM keruh sejak kemarin", "m-1")
            await next_frame(socket, "event")  # seq 1; the socket drops before seq 2 is read

    asyncio.run(first_visit())
    ticket = Ticket.objects.get()
    services.assign_ticket(ticket=ticket, assignee=agent, by=agent)
    ticket.refresh_from_db()
    services.post_message(
        ticket=ticket, body="Kami cek ke lapangan hari ini.", author_kind=AuthorKind.AGENT, by=agent
    )

    async def second_visit() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        async with chat.open() as socket:
            welcome = await _hello(chat, socket, last_seq=1)
            replay = [await next_frame(socket, "event"), await next_frame(socket, "event")]
            live = asyncio.get_running_loop().run_in_executor(
                None,
                lambda: services.post_message(
                    ticket=Ticket.objects.get(pk=ticket.pk),
                    body="Petugas sudah di lokasi.",
                    author_kind=AuthorKind.AGENT,
                    by=agent,
                ),
            )
            pushed = await next_frame(socket, "event")
            await live
            await chat.frame(socket, "read", {"up_to_seq": pushed["seq"]})
            await next_frame(socket, "read")
            return welcome, replay, pushed

    welcome, replay, pushed = asyncio.run(second_visit())

    assert welcome["data"]["ticket"]["number"] == ticket.number
    assert welcome["data"]["replay"] == {"from_seq": 2, "to_seq": 3, "complete": True}
    assert [e["seq"] for e in replay] == [2, 3]
    assert replay[1]["data"]["sender"]["role"] == "agent"
    assert replay[1]["data"]["text"] == "Kami cek ke lapangan hari ini."
    assert (pushed["seq"], pushed["data"]["text"]) == (4, "Petugas sudah di lokasi.")
    replies = Message.objects.filter(direction=Direction.OUTBOUND).order_by("pk")
    assert [m.delivery_status for m in replies] == [DeliveryStatus.READ, DeliveryStatus.READ]
    seqs = list(ChatEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == [1, 2, 3, 4]


def _close_code(chat: Conversation, **open_with: Any) -> int:
    async def attempt() -> int:
        async with chat.open(**open_with) as socket:
            return await close_code(socket)

    return asyncio.run(attempt())


def test_sockets_without_the_protocol_or_a_valid_token_are_closed_with_their_code(
    chat_server: str,
) -> None:
    chat = start_conversation(chat_server)
    other = start_conversation(chat_server)

    assert _close_code(chat, protocol=None) == 4400
    assert _close_code(chat, token="") == 4001
    assert _close_code(chat, token="forged:token") == 4001
    assert _close_code(chat, token=other.token) == 4001  # another conversation's token


def test_protocol_errors(chat_server: str) -> None:
    chat = start_conversation(chat_server)

    async def talk() -> tuple[list[dict[str, Any]], int, int]:
        async with chat.open() as socket:
            await chat.frame(socket, "message.send", {"client_msg_id": "x", "text": "x"})
            before_hello = await close_code(socket)
        errors = []
        async with chat.open() as socket:
            await _hello(chat, socket)
            await chat.frame(socket, "shout", {})
            errors.append(await next_frame(socket, "error"))
            await socket.send("not json")
            errors.append(await next_frame(socket, "error"))
            await socket.send(json.dumps({"type": "ping", "data": {"x": "y" * 70_000}}))
            errors.append(await next_frame(socket, "error"))
            await chat.frame(socket, "message.send", {"client_msg_id": "m", "text": " "})
            errors.append(await next_frame(socket, "error"))
            await chat.frame(socket, "message.send", {"client_msg_id": "m", "text": "x" * 4001})
            errors.append(await next_frame(socket, "error"))
            await socket.send(b"\x00binary")
            binary = await close_code(socket)
        return errors, before_hello, binary

    errors, before_hello, binary = asyncio.run(talk())

    assert before_hello == 4400
    assert binary == 4400
    assert [e["data"]["code"] for e in errors] == [
        "unknown_type",
        "invalid_frame",
        "too_large",
        "invalid_frame",
        "too_large",
    ]
    assert all(e["data"]["message"] for e in errors)
    assert not Ticket.objects.exists()


def test_frames_beyond_ten_a_second_are_refused(chat_server: str) -> None:
    chat = start_conversation(chat_server)

    async def flood() -> list[str]:
        async with chat.open() as socket:
            await _hello(chat, socket)
            for _ in range(30):
                await chat.frame(socket, "ping", {})
            kinds = []
            for _ in range(30):
                kinds.append(json.loads(await asyncio.wait_for(socket.recv(), 10))["type"])
            return kinds

    kinds = asyncio.run(flood())

    assert "error" in kinds
    assert kinds.count("pong") <= 20  # at most two one-second windows' worth


def test_the_resume_secret_renews_the_token_and_events_resync_over_http(
    chat_server: str,
) -> None:
    chat = start_conversation(chat_server)

    async def talk() -> None:
        async with chat.open() as socket:
            await _hello(chat, socket)
            await _say(chat, socket, "Jalan berlubang", "m-1")

    asyncio.run(talk())
    token_url = f"{chat_server}/api/v1/chat/{chat.id}/token/"
    wrong = httpx.post(token_url, json={"resume_secret": "tebakan"})
    unknown = httpx.post(
        f"{chat_server}/api/v1/chat/cv_tidakada/token/", json={"resume_secret": "x"}
    )
    renewed = httpx.post(token_url, json={"resume_secret": chat.resume_secret})
    events_url = f"{chat_server}/api/v1/chat/{chat.id}/events/"
    events = httpx.get(events_url, params={"t": renewed.json()["token"], "after_seq": 1})
    forged = httpx.get(events_url, params={"t": "forged", "after_seq": 0})
    bad_cursor = httpx.get(events_url, params={"t": chat.token, "after_seq": "-1"})

    assert wrong.status_code == 403
    assert unknown.status_code == 404
    assert renewed.status_code == 200
    assert events.status_code == 200, events.text
    assert [e["seq"] for e in events.json()["events"]] == [2]
    assert events.json()["last_seq"] == 2
    assert forged.status_code == 403
    assert bad_cursor.status_code == 400


def test_the_chat_page_is_self_contained(chat_server: str) -> None:
    page = httpx.get(f"{chat_server}/chat/")
    script = httpx.get(f"{chat_server}/static/webchat/chat.js")

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert script.status_code == 200
    assert "pengaduan.chat.v1" in script.text


def test_socket_tokens_are_redacted_from_server_logs() -> None:
    import logging

    from config.redact import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/chat/cv_x/?t=cv_x:1xV:secret&lang=id"),
        None,
    )
    RedactTokens().filter(record)

    assert (
        record.getMessage()
        == '127.0.0.1:5000 - "WebSocket /ws/chat/cv_x/?t=[redacted]&lang=id" [accepted]'
    )


def test_an_agent_joins_with_the_session_and_answers_on_the_socket(
    chat_server: str, agent: Any, partner_user: Any
) -> None:
    from django.test import Client
    from websockets.asyncio.client import connect

    chat = start_conversation(chat_server)

    async def citizen_opens() -> None:
        async with chat.open() as socket:
            await _hello(chat, socket)
            await _say(chat, socket, "Pohon tumbang menutup jalan", "m-1")

    asyncio.run(citizen_opens())
    ticket = Ticket.objects.get()

    def session_of(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    def agent_socket(cookie: str) -> Any:
        ws = chat.base.replace("http://", "ws://")
        return connect(
            f"{ws}/ws/chat/{chat.id}/",
            subprotocols=["pengaduan.chat.v1"],  # type: ignore[list-item]
            origin=chat.base,  # type: ignore[arg-type]
            additional_headers={"Cookie": cookie},
        )

    staff_cookie, partner_cookie = session_of(agent), session_of(partner_user)

    async def agent_answers() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with chat.open() as citizen, agent_socket(staff_cookie) as staff:
            await _hello(chat, citizen, last_seq=2)
            welcome = await _hello(chat, staff, last_seq=2)
            ack = await _say(chat, staff, "Tim kami berangkat sekarang.", "a-1")
            seen = await next_frame(citizen, "event")
            return welcome, ack, seen

    async def refused(cookie: str) -> int:
        async with agent_socket(cookie) as socket:
            return await close_code(socket)

    welcome, ack, seen = asyncio.run(agent_answers())

    assert welcome["data"]["participant"] == {"role": "agent"}
    assert ack["data"]["status"] == "stored"
    assert (seen["data"]["sender"]["role"], seen["data"]["text"]) == (
        "agent",
        "Tim kami berangkat sekarang.",
    )
    reply = Message.objects.get(direction=Direction.OUTBOUND)
    assert (reply.author, reply.ticket, reply.channel) == (agent, ticket, Channel.WEBCHAT)
    assert ticket.first_response_at is None  # as loaded; the database has it now
    ticket.refresh_from_db()
    assert ticket.first_response_at == reply.created_at
    assert asyncio.run(refused(partner_cookie)) == 4001  # partners are not staff
    assert asyncio.run(refused("")) == 4001
