"""What the same-answer detector keeps: each person's reply's fingerprint, and the pairs
of replies it flags for a supervisor's review."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from complaints.models import Message, Ticket


class ReplyFingerprint(models.Model):
    """A reply to a citizen and the question it answered, as MinHash signatures."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="fingerprint")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    author_key = models.CharField(max_length=40, help_text=_("user:<id>, or the bot"))
    category_id = models.IntegerField(
        null=True, help_text=_("The ticket's category when the reply was sent.")
    )
    reply = models.BinaryField()
    question = models.BinaryField()
    question_text = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["author_key", "-created_at"], name="fingerprint_author_recent")
        ]

    def __str__(self) -> str:
        return f"{self.author_key}: {self.message_id}"


class FlagState(models.TextChoices):
    OPEN = "open", _("To review")
    CONFIRMED = "confirmed", _("Confirmed: the same answer to different questions")
    DISMISSED = "dismissed", _("Dismissed: the answer fits both")


class SameAnswerFlag(models.Model):
    """A reply that is (nearly) the text of an earlier one by the same author, while the
    questions they answered differ: the evidence, side by side, for review."""

    reply = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    earlier = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reply_similarity = models.FloatField()
    question_similarity = models.FloatField()
    state = models.CharField(max_length=10, choices=FlagState.choices, default=FlagState.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["reply", "earlier"], name="flag_pair_once"),
            models.CheckConstraint(condition=~Q(reply=F("earlier")), name="flag_two_replies"),
        ]

    def __str__(self) -> str:
        return f"{self.reply_id} ≈ {self.earlier_id}"
