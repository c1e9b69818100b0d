"""Liveness and readiness probes, and 503 (not 500) when the database is unreachable."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.defaults import page_not_found
from psycopg_pool import PoolTimeout

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)


def drop_connection() -> None:
    """Closes this thread's database connection after it failed (a database restart), so
    that the thread's next query opens a new one."""
    with contextlib.suppress(*UNAVAILABLE_ERRORS):
        connection.close()


def unavailable() -> JsonResponse:
    """The one 503: JSON that tells clients when to try again."""
    detail = "The service is temporarily unavailable. Please retry."
    response = JsonResponse({"code": "unavailable", "detail": detail}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a lost database connection inside a view into 503 with Retry-After."""

    def __init__(self, get_response: object) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)  # type: ignore[operator, no-any-return]

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, UNAVAILABLE_ERRORS):
            logger.warning("database unavailable on %s: %s", request.path, exc)
            return unavailable()
        return None


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/open311/", "/webhooks/"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON for API clients, the usual page for people."""
    if is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def lockout(
    request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any
) -> HttpResponse:
    """django-axes lockout: 429 with Retry-After, JSON for API clients."""
    wait = int(settings.AXES_COOLOFF_TIME.total_seconds())
    detail = "Too many failed sign-ins. Try again later."
    response: HttpResponse
    if is_api(request):
        response = JsonResponse({"code": "throttled", "detail": detail}, status=429)
    else:
        response = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(wait)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: errors raised outside views (middleware, sessions) get the same 503."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return unavailable()
    return JsonResponse({"detail": "Internal server error."}, status=500)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no dependency."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database (and Redis, when configured) answer; else 503."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(state in ("ok", "not configured") for state in checks.values())
    response = JsonResponse({"status": "ok" if ready else "unavailable", **checks})
    if not ready:
        response.status_code = 503
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (DatabaseError, PoolTimeout) as exc:
        logger.warning("readiness: database unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        client.ping()
        client.close()
    except redis.RedisError as exc:
        logger.warning("readiness: redis unavailable: %s", exc)
        return "unavailable"
    return "ok"
