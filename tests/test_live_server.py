"""Live pushes from the real server: a complaint made over HTTP reaches a listener on the
Redis channel layer, handed from the request thread to the server's event loop."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from complaints.models import Category
from complaints.services import api_token_for
from tests.servers import asgi_server, server_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.mark.django_db(transaction=True)
def test_a_complaint_made_over_http_is_pushed_to_the_agents_queue(citizen_user: Any) -> None:
    Category.objects.create(code="jalan", name="Jalan")
    token = api_token_for(citizen_user)
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": server_database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL])

    async def listen_while_posting(base: str) -> tuple[httpx.Response, dict[str, Any]]:
        channel = await layer.new_channel()
        await layer.group_add("queue-agents", channel)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            response = await http.post(
                "/api/v1/tickets/",
                json={"category": "jalan", "subject": "Lubang", "description": "Di Jl. Mawar"},
                headers={"Authorization": f"Bearer {token}"},
            )
        event = await asyncio.wait_for(layer.receive(channel), timeout=10)
        await layer.flush()
        return response, event

    with asgi_server(env) as base:
        response, event = asyncio.run(listen_while_posting(base))

    assert response.status_code == 201, response.text
    assert event["type"] == "ticket.created"
    assert event["number"] == response.json()["number"]
    assert event["status"] == "new"
