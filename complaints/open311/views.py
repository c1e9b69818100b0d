"""Open311 GeoReport v2 (JSON and XML) over the same service layer as the citizen API.

Requests are private in Aduan: `api_key` is the citizen's API token, and a citizen reads
only their own requests (404 otherwise). Errors use the standard's list format.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints import selectors, services
from complaints.api.throttles import TicketCreateThrottle
from complaints.choices import Channel, Status
from complaints.models import Category, Ticket
from complaints.open311.renderers import GeoReportXMLRenderer
from complaints.roles import Role, role_of

CLOSED = (Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.MERGED)
MAX_RESULTS = 200


class ApiKeyAuthentication(TokenAuthentication):
    """The standard's `api_key` (query or form field), or `Authorization: Bearer`."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> Any:
        key = request.query_params.get("api_key") or request.data.get("api_key")
        if key:
            return self.authenticate_credentials(str(key))
        return super().authenticate(request)


def error(status: int, description: str) -> Response:
    return Response([{"code": status, "description": description}], status=status)


class Open311View(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [FormParser, MultiPartParser, JSONParser]
    renderer_classes = [JSONRenderer, GeoReportXMLRenderer]
    schema = None  # GeoReport has its own contract; not part of /api/schema/

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            return error(400, "; ".join(exc.messages))
        if isinstance(exc, exceptions.APIException):
            return error(exc.status_code, str(exc.detail))
        return super().handle_exception(exc)


class Services(Open311View):
    permission_classes = [AllowAny]
    xml_names = ("services", "service")

    def get(self, request: Request, format: str = "json") -> Response:
        return Response(
            [
                {
                    "service_code": c.code,
                    "service_name": c.name,
                    "description": c.description,
                    "metadata": False,
                    "type": "realtime",
                    "keywords": "",
                    "group": "",
                }
                for c in Category.objects.filter(is_active=True).order_by("name")
            ]
        )


class Requests(Open311View):
    def get_throttles(self) -> list[Any]:
        return (
            [TicketCreateThrottle()] if self.request.method == "POST" else super().get_throttles()
        )

    def get(self, request: Request, format: str = "json") -> Response:
        tickets = _filtered(_own(request), request.query_params)
        return Response([_request_out(t) for t in tickets[:MAX_RESULTS]])

    def post(self, request: Request, format: str = "json") -> Response:
        if role_of(request.user) is not Role.CITIZEN:
            return error(403, "api_key must belong to a citizen account")
        data = request.data
        category = Category.objects.filter(
            code=data.get("service_code", ""), is_active=True
        ).first()
        if category is None:
            return error(400, "service_code not found")
        description = str(data.get("description", "")).strip()
        lat, long = _coordinate(data.get("lat"), 90), _coordinate(data.get("long"), 180)
        address = str(data.get("address_string", "")).strip()[:300]
        if not description:
            return error(400, "description is required")
        if (lat is None or long is None) and not address:
            return error(400, "lat and long, or address_string, are required")
        ticket = services.open_ticket(
            citizen=request.user.citizen,  # type: ignore[union-attr]  # a citizen, checked above
            channel=Channel.OPEN311,
            subject="",
            body=description,
            category=category,
            address=address,
            latitude=lat,
            longitude=long,
            by=request.user,
        )
        return Response([{"service_request_id": ticket.number, "service_notice": ""}], status=201)


class RequestDetail(Open311View):
    def get(self, request: Request, service_request_id: str, format: str = "json") -> Response:
        ticket = selectors.ticket_by_number(service_request_id, user=request.user)
        if ticket is None:
            return error(404, "service_request_id not found")
        return Response([_request_out(ticket)])


def _own(request: Request) -> QuerySet[Ticket]:
    return selectors.tickets_visible_to(request.user).select_related("category", "partner")


def _filtered(tickets: QuerySet[Ticket], params: Any) -> QuerySet[Ticket]:
    if ids := params.get("service_request_id"):
        tickets = tickets.filter(number__in=[i.strip().upper() for i in ids.split(",")])
    if code := params.get("service_code"):
        tickets = tickets.filter(category__code__in=code.split(","))
    if status := params.get("status"):
        if status not in ("open", "closed"):
            raise DjangoValidationError("status must be open or closed")
        tickets = (
            tickets.filter(status__in=CLOSED)
            if status == "closed"
            else tickets.exclude(status__in=CLOSED)
        )
    for name, lookup in (("start_date", "created_at__gte"), ("end_date", "created_at__lte")):
        if value := params.get(name):
            tickets = tickets.filter(**{lookup: _datetime(name, value)})
    return tickets.order_by("-created_at")


def _datetime(name: str, value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise DjangoValidationError(f"{name} must be a W3C date-time")
    return parsed


def _coordinate(value: Any, bound: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except InvalidOperation as exc:
        raise DjangoValidationError("lat and long must be numbers") from exc
    if not -bound <= number <= bound:
        raise DjangoValidationError("lat or long out of range")
    return number


def _request_out(ticket: Ticket) -> dict[str, Any]:
    return {
        "service_request_id": ticket.number,
        "status": "closed" if ticket.status in CLOSED else "open",
        "status_notes": ticket.status_label("en"),
        "service_name": ticket.category.name if ticket.category else "",
        "service_code": ticket.category.code if ticket.category else "",
        "description": ticket.subject,
        "agency_responsible": ticket.partner.name if ticket.partner else "",
        "service_notice": "",
        "requested_datetime": ticket.created_at.isoformat(),
        "updated_datetime": ticket.updated_at.isoformat(),
        "expected_datetime": None,
        "address": ticket.address,
        "lat": float(ticket.latitude) if ticket.latitude is not None else None,
        "long": float(ticket.longitude) if ticket.longitude is not None else None,
        "media_url": "",
    }
