"""A citizen's ticket list and ticket detail, answered on the server's event loop.

These two reads are most of what a mobile app asks. Through Django's request cycle each
cost about 18 ms of Python here (middleware, DRF, the ORM building and instantiating
queries) for 1-2 ms of database work. This ASGI layer answers them with asynchronous
psycopg and one Redis round trip, reusing Django's and DRF's own pieces for everything
that decides the answer: the request object (host validation, scheme, language), the
throttle's rate and keys, the cursor paginator, the field renderers and the JSON renderer.

It answers only what it is sure of: a GET with a citizen's valid bearer token, known
query parameters with valid values, a ticket the citizen owns. Everything else — other
roles, a bad or inactive token, an unknown parameter, a throttled caller, a ticket not
found, PostgreSQL or Redis unreachable — goes on to Django, whose views give the answer
(401, 400, 429, 404, 503). tests/api/test_fast_path.py checks that both give the same
bytes and headers.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
import zoneinfo
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import psycopg
from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.utils import translation
from django.utils.dateparse import parse_datetime
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from complaints import services
from complaints.api.auth import token_user_query
from complaints.api.serializers import PUBLIC_EVENT_KINDS, Location, TicketIn
from complaints.api.throttles import TicketCreateThrottle, UserThrottle, sliding_window
from complaints.api.views import NewestFirst, ticket_details
from complaints.choices import CITIZEN_LABELS, Status, citizen_label
from complaints.models import (
    Attachment,
    Category,
    Citizen,
    Message,
    Rating,
    Ticket,
    TicketEvent,
)
from complaints.numbers import normalise_number
from complaints.roles import Role, remember_role, role_from_flags, role_parameters
from config.edge import App, Batcher, Receive, Scope, Send, declared_length, read_body, respond
from config.health import UNAVAILABLE_ERRORS, drop_connection, unavailable
from partners.models import Organisation

logger = logging.getLogger(__name__)

TICKETS = "/api/v1/tickets/"
DETAIL = re.compile(r"^/api/v1/tickets/(?P<number>[^/]+)/$")
LIST_PARAMETERS = frozenset({"status", "cursor", "page_size"})
# Accept headers DRF's negotiation answers with plain JSON (anything else: DRF decides).
PLAIN_ACCEPT = frozenset({"", "*/*", "application/json"})
# Errors after which Django answers instead: it reports them as its views do.
FALL_BACK = (psycopg.Error, OSError, TimeoutError, APIException, SuspiciousOperation)
STATUSES = frozenset(Status.values)
ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)
CONNECTION_WAIT = 1.0  # seconds a request waits for one of this layer's connections
# A complaint is at most 10,000 characters of description and 200 of subject; JSON may
# spell each as a six-byte escape. Larger bodies go to Django, which refuses them.
MAX_CREATE_BODY = 64 * 1024
# The body types DRF's JSON parser reads as this layer does (UTF-8, the default charset).
JSON_TYPES = frozenset({"application/json", "application/json;charset=utf-8"})
OPENERS = 1  # groups of complaints being stored at once, each on a thread of its own
MAX_OPENED = 100  # complaints in one group at most


def enabled() -> bool:
    """On with PostgreSQL and Redis (the throttles' counts live there) unless turned off."""
    return bool(
        settings.ADUAN_API_FAST_PATH
        and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
        and settings.REDIS_URL
    )


class CitizenFastPath:
    """ASGI middleware: a citizen's GET of /api/v1/tickets/ and /api/v1/tickets/<n>/ and
    POST of /api/v1/tickets/ here, everything else (and anything in doubt) to `app`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.on = enabled()
        self.database: AsyncConnectionPool | None = None
        self.redis: Redis | None = None
        self.lock = asyncio.Lock()
        self.queries = Queries()
        self.throttle = Throttle(UserThrottle())
        self.create_throttle = Throttle(TicketCreateThrottle())
        self.opener: Batcher[services.NewTicket, Ticket] = Batcher(
            _open_group,
            ThreadPoolExecutor(OPENERS, thread_name_prefix="aduan-api-open"),
            writers=lambda: OPENERS,
            max_weight=MAX_OPENED,
            shared_errors=UNAVAILABLE_ERRORS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.on and scope["type"] == "http"):
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if method == "POST" and path == TICKETS:
            await self._create(scope, receive, send)
            return
        detail = DETAIL.match(path) if method == "GET" else None
        if not (method == "GET" and (path == TICKETS or detail)):
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        try:
            response = await self._answer(scope, detail["number"] if detail else None)
        except FALL_BACK as exc:
            logger.debug("fast path left %s to Django: %r", path, exc)
            response = None
        except Exception:
            logger.exception("fast path failed on %s; Django answers", path)
            response = None
        if response is None:
            await self.app(scope, receive, send)
        else:
            await respond(send, _timed(response, began))

    async def _create(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A complaint submitted: opened here, with others that arrived meanwhile, or by
        Django when this layer is not sure (Django gets the body as it came)."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if not _may_open(scope, headers):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, MAX_CREATE_BODY)
        if body is None:
            return  # the client hung up mid-body
        began = time.perf_counter()
        try:
            response = await self._open(scope, body)
        except FALL_BACK as exc:
            logger.debug("fast path left a complaint to Django: %r", exc)
            response = None
        except UNAVAILABLE_ERRORS as exc:  # it may have been stored: not for Django to redo
            logger.warning("database unavailable opening a complaint: %s", exc)
            response = unavailable()
        except Exception:
            logger.exception("fast path failed on a complaint; Django answers")
            response = None
        if response is None:
            await self.app(scope, _replaying(body, receive), send)
        else:
            await respond(send, _timed(response, began))

    async def _open(self, scope: Scope, body: bytes) -> HttpResponse | None:
        """The 201 for a complaint, or None for Django to answer (nothing stored then)."""
        request = _django_request(scope)
        if request is None or (key := _bearer_key(request)) is None:
            return None
        data = JSONParser().parse(io.BytesIO(body))  # a ParseError is Django's 400
        if not (isinstance(data, dict) and isinstance(data.get("category"), str)):
            return None
        pool, redis = await self._clients()
        language = translation.get_language_from_request(request)
        async with pool.connection() as conn:
            parameters = role_parameters(key=key, category=data["category"])
            row = await (await conn.execute(self.queries.opener, parameters)).fetchone()
        if row is None or role_from_flags(*row[1:IDENTITY_COLUMNS]) is not Role.CITIZEN:
            return None
        if row[IDENTITY_COLUMNS] is None:
            return None  # not an active category: Django's 400
        user_id, citizen_id = row[0], row[IDENTITY_COLUMNS - 1]
        category = Category(pk=row[IDENTITY_COLUMNS], code=data["category"], is_active=True)
        serializer = TicketIn(data=data)
        serializer.fields["category"].queryset = _Known(category)  # type: ignore[attr-defined]
        if not serializer.is_valid():
            return None  # Django's 400, with its messages
        if not await self.create_throttle.allows(redis, user_id):
            return None  # Django's 429 (counted there)
        by = _citizen_user(row)
        citizen = Citizen(pk=citizen_id, user_id=user_id)
        new = services.NewTicket(by=by, **ticket_details(citizen, serializer.validated_data))
        ticket = await self.opener.submit(new)
        opened = _ticket_out(_opened_row(ticket, category.code), language)
        response = _json(opened, language, allow="GET, POST, HEAD, OPTIONS")
        response.status_code = 201
        return response

    async def _answer(self, scope: Scope, number: str | None) -> HttpResponse | None:
        """The answer to the list (`number` None) or to one ticket's detail; None: Django's."""
        request = _django_request(scope)
        if request is None:
            return None
        key = _bearer_key(request)
        if key is None:
            return None
        pool, redis = await self._clients()
        language = translation.get_language_from_request(request)
        async with pool.connection() as conn:
            if number is None:
                return await self._list(conn, redis, request, key, language)
            return await self._detail(conn, redis, number, key, language)

    async def _clients(self) -> tuple[AsyncConnectionPool, Redis]:
        if self.database is None or self.redis is None:
            async with self.lock:
                if self.database is None:
                    self.database = await _open_pool()
                if self.redis is None:
                    self.redis = Redis.from_url(
                        settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
                    )
        return self.database, self.redis

    async def _allowed(self, redis: Redis, row: Sequence[Any] | None) -> bool:
        """Whether a row starting with `Queries.identity`'s columns is an active citizen's,
        counted by the throttle and within its rate."""
        if row is None or role_from_flags(*row[1:IDENTITY_COLUMNS]) is not Role.CITIZEN:
            return False
        return await self.throttle.allows(redis, row[0])

    async def _list(
        self,
        conn: psycopg.AsyncConnection[Any],
        redis: Redis,
        request: WSGIRequest,
        key: str,
        language: str,
    ) -> HttpResponse | None:
        query = request.GET
        if set(query) - LIST_PARAMETERS or any(len(query.getlist(k)) > 1 for k in query):
            return None
        status = query.get("status", "")
        if status and status not in STATUSES:
            return None
        paginator = NewestFirst()
        drf_request = Request(request)
        paginator.page_size = paginator.get_page_size(drf_request)
        paginator.base_url = request.build_absolute_uri()
        paginator.cursor = paginator.decode_cursor(drf_request)
        offset, reverse, position = paginator.cursor or (0, False, None)
        since = None
        if position is not None and (since := parse_datetime(str(position))) is None:
            return None
        sql = self.queries.page(bool(status), since is not None, reverse)
        parameters = role_parameters(
            key=key, status=status, since=since, offset=offset, limit=paginator.page_size + 1
        )
        rows = await (await conn.execute(sql, parameters)).fetchall()
        if not await self._allowed(redis, rows[0] if rows else None):
            return None
        tickets = [row[IDENTITY_COLUMNS:] for row in rows if row[IDENTITY_COLUMNS] is not None]
        page = _paginate(paginator, tickets, int(offset), bool(reverse), position)
        body = {
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": [_ticket_out(row, language) for row in page],
        }
        return _json(body, language, allow="GET, POST, HEAD, OPTIONS")

    async def _detail(
        self,
        conn: psycopg.AsyncConnection[Any],
        redis: Redis,
        typed: str,
        key: str,
        language: str,
    ) -> HttpResponse | None:
        number = normalise_number(typed)
        if number is None:
            return None
        parameters = role_parameters(key=key, number=number)
        async with conn.pipeline():  # four queries, one round trip
            found = await conn.execute(self.queries.ticket, parameters)
            messages = await conn.execute(self.queries.messages, parameters)
            attachments = await conn.execute(self.queries.attachments, parameters)
            events = await conn.execute(self.queries.events, parameters)
        row = await found.fetchone()
        if row is None or row[IDENTITY_COLUMNS] is None:
            return None  # Django answers (and counts): 401, or 404 for someone else's
        if row[IDENTITY_COLUMNS + 5] == Status.WITH_PARTNER:
            return None  # Django says whether the partner is open (its calendar)
        if not await self._allowed(redis, row):
            return None  # Django answers 429
        ticket, public = row[IDENTITY_COLUMNS:], await messages.fetchall()
        body = _ticket_out(ticket, language)
        body["description"] = public[0][4] if public else ""
        body["partner_closed"] = None
        body["timeline"] = _timeline(
            ticket[1], public, await attachments.fetchall(), await events.fetchall(), language
        )
        return _json(body, language, allow="GET, HEAD, OPTIONS")


async def _open_pool() -> AsyncConnectionPool:
    db = settings.DATABASES["default"]
    # The same few statements, prepared once per connection. PostgreSQL would plan them
    # again on every call (about 1 ms each here) because it estimates its generic plans
    # dearer than they are; with the indexes these queries were written for, the generic
    # plan is the quick one (a list: 0.5 ms instead of 1.2).
    options = db.get("OPTIONS", {}).get("options", "")
    options = f"{options} -c TimeZone=UTC -c plan_cache_mode=force_generic_plan".strip()
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=str(db["PORT"]) if db.get("PORT") else None,
        options=options,
    )
    pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=settings.ADUAN_API_FAST_CONNECTIONS,
        # Waiting is for a busy pool, not for a database that is away: Django then answers
        # (503 after its own pool's wait), so the two waits must not add up to much.
        timeout=CONNECTION_WAIT,
        kwargs={"autocommit": True, "prepare_threshold": 1},
        open=False,
    )
    await pool.open(wait=False)
    return pool


def _django_request(scope: Scope) -> WSGIRequest | None:
    """Django's request for `scope`: the same host check, scheme and query parsing as the
    views get. None when Django would not serve it as it is (a bad host, a redirect to
    HTTPS, a cookie that could carry a session or a language)."""
    request = WSGIRequest(build_environ(scope, io.BytesIO()))  # type: ignore[arg-type]
    request.get_host()  # DisallowedHost (a SuspiciousOperation) when not allowed
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None
    if "HTTP_COOKIE" in request.META:
        return None
    if request.META.get("HTTP_ACCEPT", "") not in PLAIN_ACCEPT:
        return None
    return request


def _bearer_key(request: WSGIRequest) -> str | None:
    parts: list[str] = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or len(parts[1]) > 40:
        return None
    return parts[1]


def _may_open(scope: Scope, headers: dict[str, str]) -> bool:
    """Whether a POST may be a complaint this layer opens: JSON of a declared, modest size,
    no query string, and no Idempotency-Key (Django keeps those: open_ticket_once)."""
    return (
        not scope.get("query_string")
        and headers.get("content-type", "").lower().replace(" ", "") in JSON_TYPES
        and 0 < declared_length(headers) <= MAX_CREATE_BODY
        and "transfer-encoding" not in headers
        and "idempotency-key" not in headers
    )


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for Django after this layer read the (whole) body: that body first."""
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return dict(await receive())
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Known:
    """TicketIn's category queryset for one request: the category it names, read along
    with the caller's identity (DRF's field calls `get(code=...)` on it)."""

    def __init__(self, category: Category) -> None:
        self.category = category

    def get(self, **lookup: Any) -> Category:
        if lookup != {"code": self.category.code}:
            raise Category.DoesNotExist
        return self.category


def _citizen_user(row: Sequence[Any]) -> Any:
    """The user of an identity row (`Queries.identity`'s columns), with its role known."""
    user: Any = get_user_model()(pk=row[0], is_active=row[1], is_superuser=row[2], is_staff=row[3])
    user.role_supervisor, user.role_agent, user.role_partner, user.role_citizen = row[4:8]
    remember_role(user)
    return user


def _open_group(requests: list[services.NewTicket]) -> list[Ticket]:
    """The complaints of one group, opened in one transaction (on an opener thread)."""
    try:
        return services.open_tickets(requests)
    except UNAVAILABLE_ERRORS:
        drop_connection()  # the next group opens a new one
        raise


def _opened_row(ticket: Ticket, category: str) -> tuple[Any, ...]:
    """A new ticket as a row of `Queries.tickets`' columns: no partner yet, not rated."""
    return (
        *(ticket.pk, ticket.number, ticket.subject, category, ticket.priority, ticket.status),
        *(ticket.channel, ticket.created_at, ticket.updated_at),
        *(ticket.address, ticket.latitude, ticket.longitude, None, False),
        *(ticket.first_response_due_at, ticket.resolution_due_at, ticket.sla_paused_reason),
    )


def _timed(response: HttpResponse, began: float) -> HttpResponse:
    """Server-Timing says which way a request was answered, and how fast."""
    response["Server-Timing"] = f"fast;dur={(time.perf_counter() - began) * 1000:.1f}"
    return response


# The throttle DRF applies to these views (UserThrottle, a sliding window over two fixed
# windows), counted in one atomic round trip on the same cache keys.
THROTTLE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if current + previous * tonumber(ARGV[2]) >= tonumber(ARGV[1]) then
  return 0
end
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[3]) then
  redis.call('INCR', KEYS[1])
end
return 1
"""


class Throttle:
    """Counts a request as `rates` (one of our DRF throttles) would, on the same keys;
    False when over the rate (DRF then answers the 429). Fails open without Redis, as
    they do."""

    def __init__(self, rates: UserThrottle | TicketCreateThrottle) -> None:
        self.rates = rates  # the rate is read from the settings once, as DRF does
        self.script: Any = None

    async def allows(self, redis: Redis, user_id: int) -> bool:
        rates = self.rates
        if rates.rate is None:
            return True
        base = rates.cache_format % {"scope": rates.scope, "ident": user_id}
        current, previous, overlap = sliding_window(base, rates.duration, time.time())
        cache = caches["default"]
        if self.script is None:
            self.script = redis.register_script(THROTTLE_SCRIPT)
        try:
            allowed = await self.script(
                keys=[cache.make_key(current), cache.make_key(previous)],
                args=[rates.num_requests, overlap, 2 * rates.duration],
            )
        except (RedisError, OSError) as exc:
            logger.warning("rate limit skipped, cache unreachable: %s", exc)
            return True
        return bool(allowed)


def _paginate(
    paginator: NewestFirst,
    rows: Sequence[tuple[Any, ...]],
    offset: int,
    reverse: bool,
    position: Any,
) -> list[_Positioned]:
    """Sets what CursorPagination.paginate_queryset sets, for its link builders; returns
    the page."""
    page = [_Positioned(row) for row in rows[: paginator.page_size]]
    following = str(rows[-1][CREATED_AT]) if len(rows) > len(page) else None
    paginator.page = list(reversed(page)) if reverse else page
    before = position is not None or offset > 0
    paginator.has_next, paginator.has_previous = (
        (before, following is not None) if reverse else (following is not None, before)
    )
    paginator.next_position, paginator.previous_position = (
        (position, following) if reverse else (following, position)
    )
    return paginator.page


class _Positioned(tuple[Any, ...]):
    """A ticket row that CursorPagination can read its position (`created_at`) from."""

    @property
    def created_at(self) -> datetime:
        return self[CREATED_AT]  # type: ignore[no-any-return]


def _local_time(value: datetime) -> str:
    """What DRF's DateTimeField renders: ISO 8601 in the site's time zone, UTC as `Z`.
    (DRF looks the current time zone up on every call, a fifth of a list's time here.)"""
    text = value.astimezone(ZONE).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_location = Location()
_renderer = JSONRenderer()


def _ticket_out(row: Sequence[Any], language: str) -> dict[str, Any]:
    """TicketOut's fields, in its order, from a row of `Queries.tickets`' columns."""
    (_pk, number, subject, category, priority, status, channel, created, updated) = row[:9]
    address, latitude, longitude, partner, rated = row[9:14]
    first_due, resolution_due, paused = row[14:17]
    location = None
    if address or latitude is not None:
        location = _location.to_representation(
            {"address": address, "latitude": latitude, "longitude": longitude}
        )
    done = status in (Status.RESOLVED, Status.CLOSED)
    return {
        "number": number,
        "subject": subject,
        "category": category,
        "priority": priority,
        "status": status,
        "status_label": citizen_label(status, language[:2]),
        "channel": channel,
        "created_at": _local_time(created),
        "updated_at": _local_time(updated),
        "first_response_due_at": _local_time(first_due) if first_due else None,
        "resolution_due_at": _local_time(resolution_due) if resolution_due else None,
        "resolution_paused_reason": paused or None,
        "location": location,
        "partner": partner,
        "can_reopen": status == Status.RESOLVED,
        "can_rate": done and not rated,
    }


def _timeline(
    number: str,
    messages: Sequence[tuple[Any, ...]],
    attachments: Sequence[tuple[Any, ...]],
    events: Sequence[tuple[Any, ...]],
    language: str,
) -> list[dict[str, Any]]:
    """TicketDetailOut's timeline: public messages, then changes of state, by time."""
    files: dict[int, list[dict[str, Any]]] = {}
    for pk, message, name, content_type, size in attachments:
        url = f"/api/v1/tickets/{number}/attachments/{pk}/"
        entry = {"id": pk, "name": name, "content_type": content_type, "size": size, "url": url}
        files.setdefault(message, []).append(entry)
    entries = [
        {
            "type": "message",
            "at": at,
            "direction": direction,
            "author": author,
            "body": body,
            "attachments": files.get(pk, []),
        }
        for pk, at, direction, author, body in messages
    ]
    entries += [
        {
            "type": "status",
            "at": at,
            "status": status,
            "status_label": CITIZEN_LABELS[status][language[:2]],
            "reason": reason,
        }
        for at, status, reason in events
    ]
    return sorted(entries, key=lambda entry: entry["at"])


def _json(body: dict[str, Any], language: str, *, allow: str) -> HttpResponse:
    """The response Django's middleware and DRF's JSON renderer would give."""
    response = HttpResponse(_renderer.render(body), content_type="application/json")
    response["Allow"] = allow
    response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
    response["Vary"] = "Accept-Language"
    response["Content-Language"] = language
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        response["X-Content-Type-Options"] = "nosniff"
    if settings.SECURE_REFERRER_POLICY:
        response["Referrer-Policy"] = settings.SECURE_REFERRER_POLICY
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        response["Cross-Origin-Opener-Policy"] = settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
    return response


# The first columns of every query here: the token's user id, then what role_from_flags
# takes. Ticket rows (`Queries.tickets`) have their creation time at CREATED_AT.
IDENTITY_COLUMNS = 8
CREATED_AT = 7


class Queries:
    """The SQL of this layer, with table names from the models' metadata and every value
    a bound parameter. Each starts from the token, so that one round trip answers."""

    def __init__(self) -> None:
        tokens = Token._meta.db_table
        self.identity = token_user_query("u.id, u.is_active, u.is_superuser, u.is_staff")
        rated = (
            f"EXISTS (SELECT 1 FROM {Rating._meta.db_table} r "  # noqa: S608
            "WHERE r.ticket_id = t.id AND r.resolution_round = t.reopen_count)"
        )
        # The token's identity with the active category a new complaint names (or NULL).
        self.opener = (
            f"SELECT me.*, c.id FROM ({self.identity}) me "  # noqa: S608
            f"LEFT JOIN {Category._meta.db_table} c ON c.code = %(category)s AND c.is_active"
        )
        self.tickets = (
            "SELECT t.id, t.number, t.subject, c.code, t.priority, t.status, t.channel, "  # noqa: S608
            "t.created_at, t.updated_at, t.address, t.latitude, t.longitude, o.name, "
            f"{rated}, t.first_response_due_at, t.resolution_due_at, t.sla_paused_reason "
            f"FROM {Ticket._meta.db_table} t "
            f"LEFT JOIN {Category._meta.db_table} c ON c.id = t.category_id "
            f"LEFT JOIN {Organisation._meta.db_table} o ON o.id = t.partner_id "
            "WHERE t.citizen_id = me.role_citizen"
        )
        self.ticket = (
            f"SELECT me.*, t.* FROM ({self.identity}) me "  # noqa: S608
            f"LEFT JOIN LATERAL ({self.tickets} AND t.number = %(number)s) t ON true"
        )
        # The ticket's id, for the citizen of the token only.
        owned = (
            f"(SELECT t.id FROM {Ticket._meta.db_table} t "  # noqa: S608
            f"JOIN {Citizen._meta.db_table} c ON c.id = t.citizen_id "
            f"JOIN {tokens} k ON k.user_id = c.user_id "
            "WHERE k.key = %(key)s AND t.number = %(number)s)"
        )
        public_kinds = ", ".join(f"'{kind}'" for kind in PUBLIC_EVENT_KINDS)  # our own enum
        self.messages = (
            "SELECT id, created_at, direction, author_kind, body "  # noqa: S608
            f"FROM {Message._meta.db_table} "
            f"WHERE ticket_id = {owned} AND NOT is_internal ORDER BY created_at, id"
        )
        self.attachments = (
            "SELECT a.id, a.message_id, a.original_name, a.content_type, a.size "  # noqa: S608
            f"FROM {Attachment._meta.db_table} a JOIN {Message._meta.db_table} m "
            f"ON m.id = a.message_id WHERE m.ticket_id = {owned} AND NOT m.is_internal "
            "ORDER BY a.id"
        )
        self.events = (
            "SELECT created_at, to_status, public_reason "  # noqa: S608
            f"FROM {TicketEvent._meta.db_table} WHERE ticket_id = {owned} "
            f"AND kind IN ({public_kinds}) AND to_status <> '' ORDER BY created_at, id"
        )

    def page(self, by_status: bool, from_position: bool, reverse: bool) -> str:
        """The token's identity with one page of the citizen's tickets (a row with no ticket
        when there are none), as CursorPagination would ask the ORM for the page."""
        sql = self.tickets
        if by_status:
            sql += " AND %(status)s = t.status"
        if from_position:
            sql += " AND t.created_at > %(since)s" if reverse else " AND t.created_at < %(since)s"
        order = "t.created_at, t.id" if reverse else "t.created_at DESC, t.id DESC"
        page = f"{sql} ORDER BY {order} OFFSET %(offset)s LIMIT %(limit)s"
        return (
            f"SELECT me.*, t.* FROM ({self.identity}) me "  # noqa: S608
            f"LEFT JOIN LATERAL ({page}) t ON true ORDER BY {order}"
        )
