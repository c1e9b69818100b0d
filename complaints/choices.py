"""The vocabularies of the ticket core: states, priorities, channels, authors, events."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_CITIZEN = "waiting_citizen", _("Waiting for citizen")
    WITH_PARTNER = "with_partner", _("With partner")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged")

    @classmethod
    def open_states(cls) -> list[Status]:
        """States in which work on the ticket is still going on."""
        return [cls.NEW, cls.TRIAGED, cls.IN_PROGRESS, cls.WAITING_CITIZEN, cls.WITH_PARTNER]


# What the citizen reads for each state, in Indonesian and English.
CITIZEN_LABELS: dict[str, dict[str, str]] = {
    Status.NEW: {"id": "Diterima", "en": "Received"},
    Status.TRIAGED: {"id": "Sedang ditelaah", "en": "Being reviewed"},
    Status.IN_PROGRESS: {"id": "Sedang ditangani", "en": "Being handled"},
    Status.WAITING_CITIZEN: {"id": "Menunggu tanggapan Anda", "en": "Waiting for your reply"},
    Status.WITH_PARTNER: {"id": "Ditangani mitra", "en": "With a partner organisation"},
    Status.RESOLVED: {"id": "Selesai", "en": "Resolved"},
    Status.CLOSED: {"id": "Ditutup", "en": "Closed"},
    Status.REJECTED: {"id": "Tidak dapat diproses", "en": "Not accepted"},
    Status.MERGED: {"id": "Digabung dengan pengaduan lain", "en": "Merged into another complaint"},
}
CITIZEN_LANGUAGES = ("id", "en")


def citizen_label(status: str, language: str = "id") -> str:
    """The citizen-facing label of a state; Indonesian unless English is asked for."""
    language = language if language in CITIZEN_LANGUAGES else "id"
    return CITIZEN_LABELS[status][language]


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")
    CRITICAL = "critical", _("Critical")


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    INSTAGRAM = "instagram", "Instagram"
    X = "x", "X"
    TELEGRAM = "telegram", "Telegram"
    EMAIL = "email", _("Email")
    WEBCHAT = "webchat", _("Web chat")
    API = "api", _("Mobile app")
    OPEN311 = "open311", "Open311"
    PHONE = "phone", _("Phone")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class AuthorKind(models.TextChoices):
    CITIZEN = "citizen", _("Citizen")
    AGENT = "agent", _("Agent")
    PARTNER = "partner", _("Partner")
    SYSTEM = "system", _("System")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    TRIAGED = "triaged", _("Triaged")
    STARTED = "started", _("Started")
    WAITING = "waiting", _("Waiting for citizen")
    RESUMED = "resumed", _("Resumed")
    DISPATCHED = "dispatched", _("Dispatched to partner")
    RETURNED = "returned", _("Returned from partner")
    PARTNER_ACCEPTED = "partner_accepted", _("Accepted by partner")
    PARTNER_DONE = "partner_done", _("Done by partner")
    CONSULT_OPENED = "consult_opened", _("Consult requested")
    CONSULT_ANSWERED = "consult_answered", _("Consult answered")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged")
    ASSIGNED = "assigned", _("Assigned")
    DETAILS_CHANGED = "details_changed", _("Details changed")
    ESCALATED = "escalated", _("Escalated")
