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


class CsatSurvey(models.Model):
    """The question put to the citizen after one resolution of their ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="surveys")
    resolution_round = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16, blank=True)
    asked_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolution_round"], name="survey_once_per_resolution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.resolution_round}"


class ReviewReason(models.TextChoices):
    LOW_SCORE = "low_score", _("Low score for timeliness")
    NOT_SOLVED = "not_solved", _("The citizen says it is not solved")


class Review(models.Model):
    """A resolution a supervisor should look at, because of what the citizen answered."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    rating = models.ForeignKey("complaints.Rating", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=12, choices=ReviewReason.choices)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "reason"], name="review_once_per_reason")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.reason}"
