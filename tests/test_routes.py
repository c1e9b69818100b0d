"""Every route is classified in `tests/routes.py` (RELIABILITY T-f, API9): one that is not
fails here, so nobody adds a URL without saying who it is for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from config.routing import websocket_urlpatterns
from tests.routes import classify


def walk(patterns: Sequence[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def every_route() -> list[str]:
    return [*walk(get_resolver().url_patterns), *walk(websocket_urlpatterns)]


def test_every_route_is_classified() -> None:
    routes = every_route()
    assert len(routes) > 150  # the admin sites, the APIs, the webhooks, the sockets
    unclassified = [route for route in routes if classify(route) is None]
    assert unclassified == []


def test_an_unknown_route_is_caught() -> None:
    assert classify("api/v1/^tickets/(?P<number>[^/]+)/export/$") is None
    assert classify("admin/complaints/newmodel/") is None
    assert classify("partner/complaints/ticket/<path:object_id>/merge/") is None
