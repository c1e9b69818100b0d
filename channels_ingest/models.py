"""Channel accounts: one per WhatsApp number, page, bot, mailbox or chat widget."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from complaints.choices import Channel

ACCOUNT_KINDS = [
    (c.value, c.label)
    for c in (
        Channel.WHATSAPP,
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.X,
        Channel.TELEGRAM,
        Channel.EMAIL,
        Channel.WEBCHAT,
    )
]


class ChannelAccount(models.Model):
    """Where complaints arrive, with the secrets that verify and answer that channel."""

    kind = models.CharField(max_length=16, choices=ACCOUNT_KINDS)
    slug = models.SlugField(max_length=50, help_text=_("Webhook path: /webhooks/<kind>/<slug>/"))
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    address = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Phone number id, page id, bot name or mailbox address."),
    )
    webhook_secret = models.CharField(
        max_length=255, blank=True, help_text=_("App secret / webhook signing secret.")
    )
    verify_token = models.CharField(max_length=255, blank=True)
    access_token = models.CharField(max_length=1024, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="channel_account_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.slug}"


class Delivery(models.Model):
    """One event a provider delivered, stored raw before it is acknowledged.

    Providers deliver at least once: the (account, external id) constraint keeps one row
    per event however often it arrives, and processing works from the stored row, so an
    event acknowledged while Redis or the worker was down is processed when they return.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="deliveries")
    external_id = models.CharField(
        max_length=255, help_text=_("The provider's id for this event (see REFERENCE 0.3).")
    )
    event = models.JSONField(help_text=_("The event as delivered, with its envelope context."))
    # An email as it arrived (RFC 5322 bytes), kept as evidence and parsed by the worker;
    # other channels' events are all in `event`.
    raw = models.BinaryField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(
        "complaints.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Processed, with files still to fetch from the provider (see channels_ingest.media).
    media_pending = models.BooleanField(default=False)
    media_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="delivery_unique"),
        ]
        indexes = [
            # The drains claim what is still pending, in order, from two small indexes:
            # new deliveries oldest first, and retries whose backoff has passed. (One index
            # on both columns gave no order for "never tried": a sort of the whole inbox.)
            models.Index(
                fields=["received_at"],
                condition=models.Q(state="pending", next_attempt_at__isnull=True),
                name="delivery_new",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending", next_attempt_at__isnull=False),
                name="delivery_retry",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(media_pending=True),
                name="delivery_media_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.external_id}"


class MailboxState(models.Model):
    """How far IMAP polling of one folder of a mailbox has got (REFERENCE 5.1): the UIDs
    up to `last_uid` are stored, as long as the folder's UIDVALIDITY stays the same."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="mailbox_states"
    )
    folder = models.CharField(max_length=200, default="INBOX")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "folder"], name="mailbox_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.folder} @{self.last_uid}"
