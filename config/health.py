"""Liveness and readiness probes, and 503 (not 500) when the database is unreachable."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from psycopg_pool import PoolTimeout

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)


def unavailable(detail: str) -> JsonResponse:
    """A JSON 503 that tells clients when to try again."""
    response = JsonResponse({"detail": detail}, status=503)
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
            return unavailable("The service is temporarily unavailable. Please retry.")
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: errors raised outside views (middleware, sessions) get the same 503."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE_ERRORS):
        return unavailable("The service is temporarily unavailable. Please retry.")
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
