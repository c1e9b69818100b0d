"""Rate limits on the shared cache, failing open when the cache (Redis) is unreachable.

Redis is not on the critical path: losing it must not turn requests into errors. Sign-in
brute force stays bounded without it, by django-axes in the database.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class FailOpen:
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            logger.warning("rate limit skipped, cache unreachable: %s", exc)
            return True


class UserThrottle(FailOpen, UserRateThrottle):
    pass


class AnonThrottle(FailOpen, AnonRateThrottle):
    pass


class SignInThrottle(FailOpen, AnonRateThrottle):
    scope = "sign_in"


class TicketCreateThrottle(FailOpen, UserRateThrottle):
    scope = "ticket_create"
