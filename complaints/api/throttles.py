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
    """Allows the request, with a warning, when the cache cannot be reached."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            logger.warning("rate limit skipped, cache unreachable: %s", exc)
            return True


class UserThrottle(FailOpen, UserRateThrottle):
    """Every API request of a signed-in user (rate `user`)."""


class AnonThrottle(FailOpen, AnonRateThrottle):
    """Every API request without a token, per address (rate `anon`)."""


class SignInThrottle(FailOpen, AnonRateThrottle):
    """Registration and sign-in, per address (rate `sign_in`)."""

    scope = "sign_in"


class TicketCreateThrottle(FailOpen, UserRateThrottle):
    """Complaints submitted, per user (rate `ticket_create`)."""

    scope = "ticket_create"
