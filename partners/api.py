"""The partner API (`/api/v1/partner/tickets/`): what a partner organisation's own systems
(a pharmacy's order system) read and do, with a staff token from `/api/v1/auth/token/`.

Tickets the organisation never held are 404; ones it held before are readable and their
actions 409 (not allowed now); other roles are 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from complaints.api.views import KnownQueryParameters, NewestFirst
from complaints.choices import citizen_label
from complaints.models import Message, Ticket
from complaints.numbers import normalise_number
from complaints.roles import Role, partner_organisation_ids, role_of
from escalation.models import Clock, ClockKind
from partners import services as partners
from partners.models import Assignment, ConsultRequest


class Conflict(APIException):
    """Not allowed now: the ticket left the organisation, the request is answered."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class IsPartner(BasePermission):
    message = "Only partner staff use the partner API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return role_of(request.user) is Role.PARTNER


class CitizenOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="Masked unless the job needs it.")
    email = serializers.CharField(allow_null=True, help_text="Masked unless the job needs it.")


class AssignmentOut(serializers.ModelSerializer[Assignment]):
    organisation: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Assignment
        fields = [
            "organisation",
            "reason",
            "dispatched_at",
            "accepted_at",
            "updates",
            "last_update_at",
            "ended_at",
            "outcome",
            "summary",
        ]


class PartnerTicketOut(serializers.ModelSerializer[Ticket]):
    category: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    status_label = serializers.SerializerMethodField()
    is_current = serializers.SerializerMethodField(help_text="With your organisation now.")
    citizen = serializers.SerializerMethodField()
    assignment = serializers.SerializerMethodField(help_text="Your latest stay with it.")
    update_due_at = serializers.SerializerMethodField(
        help_text="When your next update is due (your calendar), or null."
    )

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "category",
            "priority",
            "status",
            "status_label",
            "created_at",
            "address",
            "is_current",
            "citizen",
            "assignment",
            "update_due_at",
        ]

    def get_status_label(self, ticket: Ticket) -> str:
        return citizen_label(ticket.status, "en")

    def get_is_current(self, ticket: Ticket) -> bool:
        return partners.is_current(ticket, self.context["request"].user)

    @extend_schema(responses=CitizenOut)
    def get_citizen(self, ticket: Ticket) -> dict[str, Any]:
        citizen = ticket.citizen
        latest = self._assignment(ticket)
        plain = latest is not None and latest.organisation.sees_citizen_contact
        phone, email = citizen.phone, citizen.email
        if not plain:
            phone = partners.mask_phone(phone) if phone else None
            email = partners.mask_email(email) if email else None
        return {"name": citizen.name, "phone": phone, "email": email}

    @extend_schema(responses=AssignmentOut)
    def get_assignment(self, ticket: Ticket) -> dict[str, Any] | None:
        latest = self._assignment(ticket)
        return AssignmentOut(latest).data if latest else None

    def get_update_due_at(self, ticket: Ticket) -> str | None:
        if not self.get_is_current(ticket):
            return None
        clocks = [c for c in ticket.partner_clocks if c.due_at]  # type: ignore[attr-defined]
        return serializers.DateTimeField().to_representation(clocks[0].due_at) if clocks else None

    def _assignment(self, ticket: Ticket) -> Assignment | None:
        ours = ticket.our_assignments  # type: ignore[attr-defined]
        return ours[0] if ours else None


class MessageOut(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = ["created_at", "direction", "author_kind", "is_internal", "body"]


class PartnerTicketDetailOut(PartnerTicketOut):
    messages = serializers.SerializerMethodField()

    class Meta(PartnerTicketOut.Meta):
        fields = [*PartnerTicketOut.Meta.fields, "messages"]

    @extend_schema(responses=MessageOut(many=True))
    def get_messages(self, ticket: Ticket) -> list[dict[str, Any]]:
        latest = self._assignment(ticket)
        until = latest.ended_at if latest else None
        messages = partners.visible_messages(ticket, until)
        return MessageOut(messages, many=True).data  # type: ignore[return-value]


class UpdateIn(serializers.Serializer[Any]):
    body = serializers.CharField(max_length=10_000)
    internal = serializers.BooleanField(default=False, help_text="A note for the agents only.")


class DoneIn(serializers.Serializer[Any]):
    summary = serializers.CharField(
        max_length=2000, help_text="What was done; the citizen reads it."
    )


class ReturnIn(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=2000)


class PartnerReadable(KnownQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Lists page by cursor and take no other parameter."""

    @property
    def query_parameters(self) -> frozenset[str]:  # type: ignore[override]
        action = getattr(self, "action", None)
        return frozenset({"cursor", "page_size"}) if action == "list" else frozenset()


@extend_schema(tags=["partner"])
class PartnerTicketViewSet(PartnerReadable, viewsets.GenericViewSet[Ticket]):
    """Tickets your organisation holds now or held before (those read-only)."""

    permission_classes = [IsPartner]
    serializer_class = PartnerTicketOut
    pagination_class = NewestFirst
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Ticket]:
        user = self.request.user
        ours = Assignment.objects.filter(
            organisation_id__in=partner_organisation_ids(user)
        ).select_related("organisation")
        clocks = Clock.objects.filter(kind=ClockKind.PARTNER_UPDATE, stopped_at__isnull=True)
        return (
            partners.tickets_of(user)
            .select_related("category", "citizen")
            .prefetch_related(
                Prefetch("partner_assignments", queryset=ours, to_attr="our_assignments"),
                Prefetch("clocks", queryset=clocks.order_by("-round"), to_attr="partner_clocks"),
            )
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return PartnerTicketOut if self.action == "list" else PartnerTicketDetailOut

    def get_object(self) -> Ticket:
        number = normalise_number(self.kwargs["number"])
        ticket = self.get_queryset().filter(number=number).first() if number else None
        if ticket is None:
            raise Http404
        return ticket

    def _act(self, request: Request) -> Ticket:
        ticket = self.get_object()
        if not partners.is_current(ticket, request.user):
            raise Conflict("This ticket is no longer with your organisation.")
        return ticket

    def _answer(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=ticket.pk)
        return Response(PartnerTicketDetailOut(fresh, context={"request": self.request}).data, code)

    @extend_schema(request=None, responses=PartnerTicketDetailOut)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, number: str) -> Response:
        ticket = self._act(request)
        partners.accept(ticket=ticket, by=request.user)
        return self._answer(ticket)

    @extend_schema(request=UpdateIn, responses={201: PartnerTicketDetailOut})
    @action(detail=True, methods=["post"])
    def updates(self, request: Request, number: str) -> Response:
        ticket = self._act(request)
        data = _valid(UpdateIn, request)
        partners.post_update(
            ticket=ticket, by=request.user, body=data["body"], internal=data["internal"]
        )
        return self._answer(ticket, status.HTTP_201_CREATED)

    @extend_schema(request=DoneIn, responses=PartnerTicketDetailOut)
    @action(detail=True, methods=["post"])
    def done(self, request: Request, number: str) -> Response:
        ticket = self._act(request)
        partners.mark_done(
            ticket=ticket, by=request.user, summary=_valid(DoneIn, request)["summary"]
        )
        return self._answer(ticket)

    @extend_schema(request=ReturnIn, responses=PartnerTicketDetailOut)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request: Request, number: str) -> Response:
        ticket = self._act(request)
        reason = _valid(ReturnIn, request)["reason"]
        partners.return_ticket(ticket=ticket, by=request.user, reason=reason)
        return self._answer(ticket)


def _valid(serializer: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    form = serializer(data=request.data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


class ConsultOut(serializers.ModelSerializer[ConsultRequest]):
    organisation: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ConsultRequest
        fields = [
            "id",
            "organisation",
            "question",
            "excerpt",
            "state",
            "asked_at",
            "due_at",
            "answer",
            "answered_at",
        ]


class NewestAsked(NewestFirst):
    ordering = ("-asked_at", "-id")


class AnswerIn(serializers.Serializer[Any]):
    answer = serializers.CharField(max_length=10_000)


@extend_schema(tags=["partner"])
class ConsultViewSet(PartnerReadable, viewsets.GenericViewSet[ConsultRequest]):
    """Questions addressed to your organisation: only the excerpt the agent shared."""

    permission_classes = [IsPartner]
    serializer_class = ConsultOut
    pagination_class = NewestAsked

    def get_queryset(self) -> QuerySet[ConsultRequest]:
        return partners.consults_of(self.request.user).select_related("organisation")

    def get_object(self) -> ConsultRequest:
        pk = str(self.kwargs["pk"])
        consult = self.get_queryset().filter(pk=int(pk)).first() if pk.isdigit() else None
        if consult is None:
            raise Http404
        return consult

    @extend_schema(request=AnswerIn, responses=ConsultOut)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str) -> Response:
        consult = self.get_object()
        text = _valid(AnswerIn, request)["answer"]
        try:
            answered = partners.answer_consult(consult=consult, by=request.user, text=text)
        except partners.ConsultClosed as exc:
            raise Conflict(str(exc)) from exc
        return Response(ConsultOut(answered).data)
