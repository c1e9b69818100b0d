"""The ticket core: citizens and their channel identities, categories, tickets, messages."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from complaints.choices import (
    AuthorKind,
    Channel,
    DeliveryStatus,
    Direction,
    EventKind,
    Priority,
    Status,
    citizen_label,
)
from complaints.lifecycle import TicketLifecycle

MAX_ESCALATION_LEVEL = 3


class Citizen(models.Model):
    """A person who complains; reached on one or more channel identities."""

    name = models.CharField(max_length=200, blank=True)
    # NULL, not "", for "unknown": the unique constraints must allow many unknowns.
    email = models.EmailField(null=True, blank=True)  # noqa: DJ001
    phone = models.CharField(max_length=20, null=True, blank=True, help_text=_("E.164"))  # noqa: DJ001
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="citizen",
        help_text=_("Set when the citizen has an account for the mobile app."),
    )
    preferred_language = models.CharField(max_length=2, default="id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email"], name="citizen_email_unique"),
            models.UniqueConstraint(fields=["phone"], name="citizen_phone_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or f"Citizen {self.pk}"


class ChannelIdentity(models.Model):
    """How a citizen is known on one channel: a phone number, an email, a channel user id."""

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="identities")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    address = models.CharField(max_length=255)
    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("channel identities")
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.address}"


class Category(models.Model):
    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = _("categories")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(TicketLifecycle):
    """One complaint: one number, one lifecycle, one conversation across channels."""

    number = models.CharField(max_length=24, unique=True, editable=False)
    subject = models.CharField(max_length=200)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="tickets")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(
        max_length=16, choices=Channel.choices, help_text=_("Where the complaint arrived.")
    )
    channel_account = models.ForeignKey(
        "channels_ingest.ChannelAccount",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(
        default=1, help_text=_("Raised by every change, so stale edits are refused.")
    )
    address = models.CharField(max_length=300, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # The clocks' due times as citizens and agents see them (escalation.Clock is the
    # truth the sweep works from): empty when no clock runs or, for resolution, while it
    # is paused, and then `sla_paused_reason` says why.
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    sla_paused_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects: models.Manager[Ticket] = models.Manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("work_ticket", "Can work on tickets (transitions, assignment, replies)"),
        ]
        indexes = [
            models.Index(fields=["citizen", "-created_at"], name="ticket_citizen_recent"),
            # A citizen's list by status: quick whichever plan PostgreSQL keeps for it.
            models.Index(
                fields=["citizen", "status", "-created_at"], name="ticket_citizen_status_recent"
            ),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["status", "resolved_at"], name="ticket_status_resolved"),
            # The agents' queue by SLA urgency: tickets whose clocks run, soonest due first.
            models.Index(
                fields=["first_response_due_at"],
                condition=Q(first_response_due_at__isnull=False, first_response_at__isnull=True),
                name="ticket_first_response_due",
            ),
            models.Index(
                fields=["resolution_due_at"],
                condition=Q(resolution_due_at__isnull=False),
                name="ticket_resolution_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_level__lte=MAX_ESCALATION_LEVEL),
                name="ticket_escalation_level_range",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.WITH_PARTNER) | Q(partner__isnull=False),
                name="ticket_with_partner_has_partner",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def status_label(self, language: str = "id") -> str:
        return citizen_label(self.status, language)


def attachment_path(instance: Attachment, filename: str) -> str:
    """A generated storage name; the original name is kept only as data."""
    suffix = PurePosixPath(filename).suffix.lower()[:10]
    return f"attachments/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}{suffix}"


class Message(models.Model):
    """One message in a ticket's conversation: inbound or outbound, public or internal."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    is_internal = models.BooleanField(
        default=False, help_text=_("Internal note: never shown to the citizen.")
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    author_kind = models.CharField(max_length=8, choices=AuthorKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(blank=True)
    external_id = models.CharField(
        max_length=255, blank=True, help_text=_("The channel's own message id.")
    )
    delivery_status = models.CharField(max_length=10, choices=DeliveryStatus.choices, blank=True)
    delivery_error = models.TextField(blank=True)
    delivery_note = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("How the channel carried it, when not as written (e.g. as a template)."),
    )
    is_public = models.BooleanField(
        default=False, help_text=_("Posted where anyone can read it (a comment or a mention).")
    )
    in_reply_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The message this one answers on the channel."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time"),
            # What the channels' sweep sends again: the few messages still queued, found
            # without reading every message ever sent.
            models.Index(
                fields=["created_at"],
                condition=Q(delivery_status=DeliveryStatus.QUEUED),
                name="message_queued",
            ),
        ]
        constraints = [
            # Webhook retries carry the same provider id: the database keeps one message.
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="message_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.pk} {self.direction}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name


class TicketEvent(models.Model):
    """What happened to a ticket: who, when, from which state to which, and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=12)
    internal_note = models.TextField(blank=True)
    public_reason = models.TextField(blank=True, help_text=_("Shown to the citizen."))
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key`: the same key again returns the same ticket."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key


class Rating(models.Model):
    """The citizen's answer about one resolution (outcome CSAT): was it handled in time
    (`score`, 1-5) and is the problem actually solved; a ticket reopened and resolved
    again is asked again."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    resolution_round = models.PositiveSmallIntegerField(help_text=_("The ticket's reopen count."))
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Handled in time, 1-5.")
    )
    solved = models.BooleanField(null=True, blank=True, help_text=_("The problem is solved."))
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolution_round"], name="rating_once_per_resolution"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5),
                name="rating_score_1_5",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=False) | Q(solved__isnull=False),
                name="rating_says_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.score}"


class CannedResponse(models.Model):
    """A prepared reply agents pick in the composer; placeholders are filled per ticket:
    {citizen_name}, {ticket_number}, {due_at}, {status}."""

    title = models.CharField(max_length=120, unique=True)
    body = models.TextField(
        help_text=_("Placeholders: {citizen_name} {ticket_number} {due_at} {status}")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class HandoverNote(models.Model):
    """What one shift tells the next: written by an agent for the shift that starts at
    `shift_start`, read at handover beside the team's open tickets."""

    shift_start = models.DateTimeField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-shift_start", "-created_at"]

    def __str__(self) -> str:
        return f"{self.shift_start:%Y-%m-%d %H:%M}: {self.body[:40]}"


class DataErasure(models.Model):
    """A record that a citizen's personal data was erased (UU PDP), kept for accountability:
    who asked, when, under which pseudonym, and how much was touched."""

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="erasures")
    pseudonym = models.CharField(max_length=40)
    requested_by = models.CharField(max_length=200)
    counts = models.JSONField(default=dict)
    erased_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.pseudonym} ({self.erased_at:%Y-%m-%d})"
