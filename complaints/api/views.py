"""The citizen REST API: thin views over complaints.services and complaints.selectors."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints import selectors, services
from complaints.api import serializers as s
from complaints.api.auth import LockedOut, sign_in
from complaints.api.throttles import SignInThrottle, TicketCreateThrottle
from complaints.api.uploads import check_quota, read_attachments
from complaints.choices import AuthorKind, Channel, Status
from complaints.models import Attachment, Category, Message, Rating, Ticket, TicketEvent
from complaints.numbers import normalise_number
from complaints.roles import Role, role_of

AUTHOR_KIND = {
    Role.CITIZEN: AuthorKind.CITIZEN,
    Role.AGENT: AuthorKind.AGENT,
    Role.SUPERVISOR: AuthorKind.AGENT,
    Role.PARTNER: AuthorKind.PARTNER,
}


class KnownQueryParameters:
    """Refuses query parameters the endpoint does not document (400), instead of ignoring them."""

    query_parameters: frozenset[str] = frozenset()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        served = getattr(self, (request.method or "").lower(), None) is not None
        unknown = set(request.query_params) - self.query_parameters
        if served and unknown:  # an unserved method gets its 405 first
            raise ValidationError({name: ["Unknown query parameter."] for name in sorted(unknown)})
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


@extend_schema(
    tags=["auth"],
    request=s.RegisterIn,
    responses={201: s.RegisterOut},
    examples=[
        OpenApiExample(
            "Register",
            request_only=True,
            value={
                "name": "Sari Wulandari",
                "email": "sari@example.com",
                "phone": "0812-3456-7890",
                "password": "kata-sandi-panjang-123",
            },
        )
    ],
)
class RegisterView(KnownQueryParameters, APIView):
    """Create a citizen account (email and/or Indonesian phone number) and get its token."""

    authentication_classes: list[Any] = []  # public: a stale token must not make it 401
    permission_classes = [AllowAny]
    throttle_classes = [SignInThrottle]

    def post(self, request: Request) -> Response:
        data = s.RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        citizen = services.register_citizen(**data.validated_data)
        token = services.api_token_for(citizen.user)  # type: ignore[arg-type]  # just created
        body = {"token": token, "citizen": s.CitizenOut(citizen).data}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["auth"],
    request=s.TokenIn,
    responses={200: s.TokenOut},
    examples=[
        OpenApiExample(
            "By phone",
            request_only=True,
            value={"username": "+6281234567890", "password": "kata-sandi-panjang-123"},
        )
    ],
)
class TokenView(KnownQueryParameters, APIView):
    """Exchange an email or phone number (staff: username) and password for a bearer token.

    Five failures for one account from one address lock it for 15 minutes (429)."""

    authentication_classes: list[Any] = []  # public: a stale token must not make it 401
    permission_classes = [AllowAny]
    throttle_classes = [SignInThrottle]

    def post(self, request: Request) -> Response:
        data = s.TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = sign_in(request._request, **data.validated_data)
        except LockedOut:
            raise Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(),
                detail="Too many failed sign-ins. Try again later.",
            ) from None
        if user is None:
            raise ValidationError({"non_field_errors": ["Wrong username or password."]})
        return Response({"token": services.api_token_for(user)})


@extend_schema(tags=["categories"])
class CategoryList(KnownQueryParameters, generics.ListAPIView[Category]):
    """What a complaint can be about. Public: the app shows it before sign-in."""

    authentication_classes: list[Any] = []  # public: a stale token must not make it 401
    permission_classes = [AllowAny]
    serializer_class = s.CategoryOut
    pagination_class = None
    queryset = Category.objects.filter(is_active=True).order_by("name")


class NewestFirst(CursorPagination):
    """Newest first, by opaque cursor; a bad `page_size` or `cursor` is 400, not ignored."""

    ordering = ("-created_at", "-id")
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise ValidationError({"page_size": ["A whole number from 1 to 100."]})
        return min(int(raw), self.max_page_size)

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Not a cursor this API gave out."]}) from None


class TicketFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Status.choices)

    class Meta:
        model = Ticket
        fields = ["status"]


NUMBER_PARAMETER = OpenApiParameter(
    "number",
    str,
    OpenApiParameter.PATH,
    description="Ticket number, e.g. ADU-2611-7K3QX9 (lower case and I/L/O for 1/1/0 accepted)",
)


@extend_schema(tags=["tickets"], parameters=[NUMBER_PARAMETER])
class TicketViewSet(KnownQueryParameters, mixins.ListModelMixin, viewsets.GenericViewSet[Ticket]):
    """The caller's own complaints (staff tokens: what their role may see)."""

    @property
    def query_parameters(self) -> frozenset[str]:  # type: ignore[override]
        return (
            frozenset({"status", "cursor", "page_size"}) if self.action == "list" else frozenset()
        )

    serializer_class = s.TicketOut
    pagination_class = NewestFirst
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = TicketFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Ticket]:
        rated = Rating.objects.filter(
            ticket=OuterRef("pk"), resolution_round=OuterRef("reopen_count")
        )
        tickets = selectors.tickets_visible_to(self.request.user).select_related(
            "category", "partner__calendar"
        )
        return tickets.annotate(rated_now=Exists(rated))

    def get_throttles(self) -> list[Any]:
        if getattr(self, "action", None) == "create":
            return [TicketCreateThrottle()]
        return super().get_throttles()

    def get_object(self) -> Ticket:
        number = normalise_number(self.kwargs["number"])
        if number is None:
            raise Http404
        return get_object_or_404(self._detailed(self.get_queryset()), number=number)

    def _detailed(self, tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
        public = Message.objects.filter(is_internal=False).prefetch_related("attachments")
        changes = TicketEvent.objects.filter(kind__in=s.PUBLIC_EVENT_KINDS).exclude(to_status="")
        return tickets.prefetch_related(
            Prefetch("messages", queryset=public, to_attr="public_messages"),
            Prefetch("events", queryset=changes, to_attr="status_events"),
        )

    def _reply(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=ticket.pk)
        return Response(s.TicketOut(fresh).data, status=code)

    @extend_schema(
        request=s.TicketIn,
        responses={201: s.TicketOut},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Same key, same ticket: safe to retry.",
            )
        ],
        examples=[
            OpenApiExample(
                "Medicine not delivered",
                request_only=True,
                value={
                    "category": "obat-isoman",
                    "subject": "Obat isoman belum datang",
                    "description": "Sudah 24 jam status masih menunggu konfirmasi.",
                    "priority": "high",
                    "location": {
                        "address": "Jl. Melati 5, Depok",
                        "latitude": "-6.402500",
                        "longitude": "106.794200",
                    },
                },
            )
        ],
    )
    def create(self, request: Request) -> Response:
        """Submit a complaint; it is numbered at once."""
        if role_of(request.user) is not Role.CITIZEN:
            raise PermissionDenied("Complaints are submitted with a citizen account.")
        data = s.TicketIn(data=request.data)
        data.is_valid(raise_exception=True)
        details = ticket_details(request.user.citizen, data.validated_data)  # type: ignore[union-attr]
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            raise ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        replayed = False
        if key:
            digest = hashlib.sha256(
                json.dumps(data.data, sort_keys=True, default=str).encode()
            ).hexdigest()
            ticket, replayed = services.open_ticket_once(
                user=request.user, key=key, request_hash=digest, **details
            )
        else:
            ticket = services.open_ticket(by=request.user, **details)
        response = self._reply(ticket, status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(responses={200: s.TicketDetailOut})
    def retrieve(self, request: Request, number: str) -> Response:
        """One complaint with its public timeline: state changes with reasons, public messages."""
        return Response(s.TicketDetailOut(self.get_object()).data)

    @extend_schema(
        request={"multipart/form-data": s.MessageIn, "application/json": s.MessageIn},
        responses={201: s.MessageOut},
    )
    @action(detail=True, methods=["post"])
    def messages(self, request: Request, number: str) -> Response:
        """Add a message, with up to 10 attachments (JPEG, PNG, WebP, PDF; 10 MB each)."""
        ticket = self.get_object()
        data = s.MessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        attachments = read_attachments(request.FILES.getlist("attachments"))
        check_quota(ticket, request.user, attachments)
        author = AUTHOR_KIND.get(role_of(request.user))
        if author is None:
            raise PermissionDenied
        message = services.post_message(
            ticket=ticket,
            body=data.validated_data["body"],
            author_kind=author,
            by=request.user,
            channel=Channel.API,
            attachments=attachments,
        )
        return Response(s.MessageOut(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReopenIn, responses={200: s.TicketOut})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, number: str) -> Response:
        """Reopen a resolved complaint that is not solved, saying why (409 if not resolved)."""
        ticket = self.get_object()
        data = s.ReopenIn(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.transition_ticket(
            ticket=ticket,
            transition="reopen",
            by=request.user,
            reason=data.validated_data["reason"],
        )
        return self._reply(ticket)

    @extend_schema(request=s.RatingIn, responses={201: s.RatingOut})
    @action(detail=True, methods=["post"])
    def rating(self, request: Request, number: str) -> Response:
        """Rate the resolution 1-5, once (409 before resolution or when already rated)."""
        ticket = self.get_object()
        data = s.RatingIn(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.rate_ticket(ticket=ticket, by=request.user, **data.validated_data)
        return Response(s.RatingOut(rating).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/octet-stream"): bytes},
        parameters=[OpenApiParameter("attachment_id", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment(self, request: Request, number: str, attachment_id: str) -> FileResponse:
        """Download an attachment of a public message, always as a file (never inline)."""
        ticket = self.get_object()
        found = get_object_or_404(
            Attachment, pk=attachment_id, message__ticket=ticket, message__is_internal=False
        )
        response = FileResponse(
            found.file.open("rb"),
            as_attachment=True,
            filename=found.original_name,
            content_type=found.content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "sandbox"
        return response


def ticket_details(citizen: Any, data: dict[str, Any]) -> dict[str, Any]:
    """What `services.open_ticket` takes for a complaint `TicketIn` validated."""
    location = data.get("location") or {}
    return {
        "citizen": citizen,
        "channel": Channel.API,
        "subject": data["subject"],
        "body": data["description"],
        "category": data["category"],
        "priority": data["priority"],
        "address": location.get("address", ""),
        "latitude": location.get("latitude"),
        "longitude": location.get("longitude"),
    }
