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
