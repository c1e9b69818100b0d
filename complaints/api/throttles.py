"""Rate limits on the shared cache, failing open when the cache (Redis) is unreachable.

Redis is not on the critical path: losing it must not turn requests into errors. Sign-in
brute force stays bounded without it, by django-axes in the database.

Counting is a sliding-window counter (two fixed-window counts, the previous one weighted by
how much of it still overlaps the window): constant work per request whatever the rate,
where DRF's default keeps and re-pickles a list of every request's time in the window.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class SlidingWindow(SimpleRateThrottle):
    """At most `num_requests` per `duration` seconds, counted in two cache keys."""

    num_requests: int  # set from the rate by SimpleRateThrottle.__init__
    duration: int
    counts: tuple[int, int]
    overlap: float

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        current, previous, self.overlap = sliding_window(self.key, self.duration, self.timer())
        counts = self.cache.get_many([current, previous])
        self.counts = counts.get(current, 0), counts.get(previous, 0)
        if self.counts[0] + self.counts[1] * self.overlap >= self.num_requests:
            return False
        if not self.cache.add(current, 1, 2 * self.duration):
            self.cache.incr(current)
        return True

    def wait(self) -> float:
        """Seconds until the weighted count falls below the limit again (at least 1)."""
        in_current, in_previous = self.counts
        if in_current >= self.num_requests or not in_previous:
            return max(self.overlap * self.duration, 1.0)  # this window has to end
        # allowed again once in_current + in_previous * overlap < num_requests
        overlap_allowed = (self.num_requests - in_current) / in_previous
        return max((self.overlap - overlap_allowed) * self.duration, 1.0)


def sliding_window(key: str, duration: int, now: float) -> tuple[str, str, float]:
    """The cache keys counting `key` in the current and the previous fixed window, and the
    share of the previous one still inside the sliding window."""
    window = int(now // duration)
    return f"{key}:{window}", f"{key}:{window - 1}", 1 - (now % duration) / duration


class FailOpen:
    """Allows the request, with a warning, when the cache cannot be reached."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return bool(super().allow_request(request, view))  # type: ignore[misc]
        except (RedisError, OSError) as exc:
            logger.warning("rate limit skipped, cache unreachable: %s", exc)
            return True


class UserThrottle(FailOpen, SlidingWindow, UserRateThrottle):
    """Every API request of a signed-in user (rate `user`)."""


class AnonThrottle(FailOpen, SlidingWindow, AnonRateThrottle):
    """Every API request without a token, per address (rate `anon`)."""


class SignInThrottle(FailOpen, SlidingWindow, AnonRateThrottle):
    """Registration and sign-in, per address (rate `sign_in`)."""

    scope = "sign_in"


class TicketCreateThrottle(FailOpen, SlidingWindow, UserRateThrottle):
    """Complaints submitted, per user (rate `ticket_create`)."""

    scope = "ticket_create"


class ChatStartThrottle(FailOpen, SlidingWindow, AnonRateThrottle):
    """Web chat conversations started, per address (rate `chat_start`)."""

    scope = "chat_start"
