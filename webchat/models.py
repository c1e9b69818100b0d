"""A web chat conversation and its numbered events (REFERENCE 6.5).

Every persisted event gets the conversation's next sequence number in the transaction
that stores it, without gaps, so a reconnecting widget asks for "everything after n" and
misses nothing.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from complaints.models import Citizen, Message, Ticket


class Conversation(models.Model):
    public_id = models.CharField(max_length=40, unique=True)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="chats")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="chats"
    )
    # The widget keeps the secret to get new socket tokens; we keep only its digest.
    resume_digest = models.CharField(max_length=64)
    last_seq = models.PositiveIntegerField(default=0)
    citizen_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.public_id


class ChatEvent(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("Message")
        SYSTEM = "system", _("System")
        CLOSED = "closed", _("Closed")

    class Role(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    role = models.CharField(max_length=10, choices=Role.choices)
    sender_name = models.CharField(max_length=200, blank=True)
    client_msg_id = models.CharField(max_length=64, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)  # structured extras, e.g. the ticket number
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="chat_events"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_event_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_msg_id"],
                condition=~Q(client_msg_id=""),
                name="chat_event_client_msg",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq}"
