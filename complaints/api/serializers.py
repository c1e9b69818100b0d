"""What the API accepts and returns. Serializers validate and render; they never save."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from complaints.api.fields import StrictCharField, StrictIntegerField
from complaints.choices import CITIZEN_LABELS, EventKind, Priority, Status, citizen_label
from complaints.models import Attachment, Category, Message, Ticket, TicketEvent


def citizen_language() -> str:
    """`id` or `en`, from the request's Accept-Language (activated by LocaleMiddleware)."""
    return (translation.get_language() or "id")[:2]


class RegisterIn(serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = StrictCharField(required=False, allow_blank=True, max_length=32)
    password = StrictCharField(write_only=True, max_length=128, style={"input_type": "password"})


class CitizenOut(serializers.Serializer[Any]):
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(allow_null=True, help_text="E.164, e.g. +6281234567890")


class RegisterOut(serializers.Serializer[Any]):
    token = serializers.CharField()
    citizen = CitizenOut()


class TokenIn(serializers.Serializer[Any]):
    username = StrictCharField(max_length=254, help_text="Email or phone number (staff: username)")
    password = StrictCharField(max_length=128, style={"input_type": "password"})


class TokenOut(serializers.Serializer[Any]):
    token = serializers.CharField()


class CategoryOut(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ["code", "name", "description"]


class Location(serializers.Serializer[Any]):
    address = StrictCharField(max_length=300, required=False, allow_blank=True)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        required=False,
        allow_null=True,
    )


class TicketIn(serializers.Serializer[Any]):
    category = serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(is_active=True)
    )
    subject = StrictCharField(max_length=200)
    description = StrictCharField(max_length=10_000)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    location = Location(required=False)


class TicketOut(serializers.ModelSerializer[Ticket]):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    status_label = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    partner = serializers.SerializerMethodField(
        help_text="The partner organisation holding it now."
    )
    first_response_due_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When a person must have answered (business time); null without a policy.",
    )
    resolution_due_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When it must be resolved; null while the clock is paused.",
    )
    resolution_paused_reason = serializers.SerializerMethodField(
        help_text="Why the resolution clock is paused (waiting for you), or null."
    )
    can_reopen = serializers.SerializerMethodField()
    can_rate = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "category",
            "priority",
            "status",
            "status_label",
            "channel",
            "created_at",
            "updated_at",
            "first_response_due_at",
            "resolution_due_at",
            "resolution_paused_reason",
            "location",
            "partner",
            "can_reopen",
            "can_rate",
        ]

    def get_status_label(self, ticket: Ticket) -> str:
        return citizen_label(ticket.status, citizen_language())

    @extend_schema_field(Location(allow_null=True))
    def get_location(self, ticket: Ticket) -> dict[str, Any] | None:
        if not (ticket.address or ticket.latitude is not None):
            return None
        return Location(
            {"address": ticket.address, "latitude": ticket.latitude, "longitude": ticket.longitude}
        ).data

    def get_partner(self, ticket: Ticket) -> str | None:
        return ticket.partner.name if ticket.partner_id and ticket.partner else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_resolution_paused_reason(self, ticket: Ticket) -> str | None:
        return ticket.sla_paused_reason or None

    def get_can_reopen(self, ticket: Ticket) -> bool:
        return bool(ticket.status == Status.RESOLVED)

    def get_can_rate(self, ticket: Ticket) -> bool:
        done = ticket.status in (Status.RESOLVED, Status.CLOSED)
        return done and not getattr(ticket, "rated_now", False)


class AttachmentOut(serializers.ModelSerializer[Attachment]):
    name = serializers.CharField(source="original_name")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "url"]

    def get_url(self, attachment: Attachment) -> str:
        number = self.context["ticket_number"]
        return f"/api/v1/tickets/{number}/attachments/{attachment.pk}/"


class TimelineEntry(serializers.Serializer[Any]):
    """A public message or a change of state, in time order. Internal notes never appear."""

    type = serializers.ChoiceField(choices=["message", "status"])
    at = serializers.DateTimeField()
    direction = serializers.CharField(required=False, help_text="message: inbound or outbound")
    author = serializers.CharField(
        required=False, help_text="message: citizen, agent, partner or system"
    )
    body = serializers.CharField(required=False)
    attachments = AttachmentOut(many=True, required=False)
    status = serializers.CharField(required=False, help_text="status: the state entered")
    status_label = serializers.CharField(required=False)
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="status: why, for the citizen"
    )


class PartnerClosed(serializers.Serializer[Any]):
    until = serializers.DateTimeField(allow_null=True, help_text="When it opens again.")
    reason = serializers.CharField(help_text="Why it is closed.")
    text = serializers.CharField(help_text="The sentence to show.")


class TicketDetailOut(TicketOut):
    description = serializers.SerializerMethodField()
    partner_closed = serializers.SerializerMethodField(
        help_text="The partner holding it is closed now: until when and why (else null)."
    )
    timeline = serializers.SerializerMethodField()

    class Meta(TicketOut.Meta):
        fields = [*TicketOut.Meta.fields, "description", "partner_closed", "timeline"]

    @extend_schema_field(PartnerClosed(allow_null=True))
    def get_partner_closed(self, ticket: Ticket) -> dict[str, Any] | None:
        if ticket.status != Status.WITH_PARTNER or ticket.partner is None:
            return None
        from partners import services as partners  # the partners app depends on this one

        now = partners.availability(ticket.partner)
        if now.is_open:
            return None
        text = partners.closed_text(ticket.partner, now)
        return PartnerClosed({"until": now.closed_until, "reason": now.reason, "text": text}).data

    def get_description(self, ticket: Ticket) -> str:
        messages = ticket.public_messages  # type: ignore[attr-defined]
        return messages[0].body if messages else ""

    @extend_schema_field(TimelineEntry(many=True))
    def get_timeline(self, ticket: Ticket) -> list[dict[str, Any]]:
        language = citizen_language()
        context = {"ticket_number": ticket.number}
        entries = [_message_entry(m, context) for m in ticket.public_messages]  # type: ignore[attr-defined]
        entries += [_status_entry(e, language) for e in ticket.status_events]  # type: ignore[attr-defined]
        return sorted(entries, key=lambda entry: entry["at"])


def _message_entry(message: Message, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "at": message.created_at,
        "direction": message.direction,
        "author": message.author_kind,
        "body": message.body,
        "attachments": AttachmentOut(message.attachments.all(), many=True, context=context).data,
    }


def _status_entry(event: TicketEvent, language: str) -> dict[str, Any]:
    return {
        "type": "status",
        "at": event.created_at,
        "status": event.to_status,
        "status_label": CITIZEN_LABELS[event.to_status][language],
        "reason": event.public_reason,
    }


# Events the citizen sees: the changes of state. Assignment and detail edits are internal.
PUBLIC_EVENT_KINDS = [
    k for k in EventKind if k not in (EventKind.ASSIGNED, EventKind.DETAILS_CHANGED)
]


class MessageIn(serializers.Serializer[Any]):
    body = StrictCharField(max_length=10_000, required=False, allow_blank=True, default="")
    # Emptiness, size and type are judged by complaints.api.uploads (413/415/422).
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, max_length=10
    )


class MessageOut(serializers.Serializer[Any]):
    type = serializers.CharField(default="message")
    at = serializers.DateTimeField(source="created_at")
    direction = serializers.CharField()
    author = serializers.CharField(source="author_kind")
    body = serializers.CharField()


class ReopenIn(serializers.Serializer[Any]):
    reason = StrictCharField(max_length=2000, help_text="What is still wrong")


class RatingIn(serializers.Serializer[Any]):
    """Was it handled in time (1-5), and is the problem actually solved? At least one;
    "not solved" reopens the ticket."""

    score = StrictIntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    solved = serializers.BooleanField(required=False, allow_null=True, default=None)
    comment = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("score", None)
        if attrs["score"] is None and attrs.get("solved") is None:
            raise serializers.ValidationError(
                {"score": ["Give a score from 1 to 5, or say whether it is solved."]}
            )
        return attrs


class RatingOut(serializers.Serializer[Any]):
    score = serializers.IntegerField(allow_null=True)
    solved = serializers.BooleanField(allow_null=True)
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
