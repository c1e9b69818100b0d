"""Live pushes from a process's event loop (a Celery worker's, a server's) on the Redis
channel layer: each listener gets its group's events in the order they were published,
and a group nobody listens to costs no send."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from channels.layers import channel_layers, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from complaints import live

pytestmark = pytest.mark.redis
EVENTS = 40
UNHEARD = 5  # groups without a listener, per event


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of its own that `publish` hands sends to, as in a Celery worker, with the
    Redis channel layer that deployments use (the tests' default is in memory)."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": "aduan-test-live"},
        }
    }
    monkeypatch.setattr(channel_layers, "backends", {})  # built again from the settings
    monkeypatch.setattr(live, "_server_loop", None)  # put back afterwards
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    live.serve_from(loop)
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def sends(server: redis.Redis) -> int:
    """How many group sends Redis has seen: each begins by trimming its group."""
    stats: dict[str, Any] = server.info("commandstats")
    return int(stats.get("cmdstat_zremrangebyscore", {}).get("calls", 0))


def test_listeners_get_their_events_in_order_and_unheard_groups_cost_no_send(
    loop: asyncio.AbstractEventLoop,
) -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)

    def on_loop(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(10)

    server = redis.Redis.from_url(settings.REDIS_URL)
    first, second = on_loop(layer.new_channel()), on_loop(layer.new_channel())
    on_loop(layer.group_add("ticket-live-1", first))
    on_loop(layer.group_add("queue-live", second))
    before = sends(server)

    for n in range(EVENTS):
        unheard = [f"ticket-nobody-{n}-{k}" for k in range(UNHEARD)]
        live.publish(["queue-live", *unheard, "ticket-live-1"], {"type": "x.test", "n": n})

    to_first = [on_loop(layer.receive(first)) for _ in range(EVENTS)]
    to_second = [on_loop(layer.receive(second)) for _ in range(EVENTS)]
    on_loop(layer.group_discard("ticket-live-1", first))
    on_loop(layer.group_discard("queue-live", second))

    assert [e["n"] for e in to_first] == list(range(EVENTS))
    assert [e["n"] for e in to_second] == list(range(EVENTS))
    # Two groups heard, each send trimming its group and its listener's queue: 4 trims
    # per event. Sent to as well, the 5 unheard groups would add 5 more per event.
    assert sends(server) - before <= 4 * EVENTS
