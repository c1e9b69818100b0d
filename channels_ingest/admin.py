from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from channels_ingest.models import ChannelAccount, Delivery, MailboxState
from channels_ingest.services import process_delivery

SECRET_FIELDS = ("webhook_secret", "verify_token", "access_token")


class ChannelAccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """Secrets are write-only: never shown again, kept when the field is left empty."""

    class Meta:
        model = ChannelAccount
        fields = [
            "kind",
            "slug",
            "name",
            "is_active",
            "address",
            *SECRET_FIELDS,
            "settings",
        ]
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            is_set = bool(self.instance.pk and getattr(self.instance, name))
            self.fields[name].help_text = _("Set; leave empty to keep it.") if is_set else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in SECRET_FIELDS:
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)
        return data


class MailboxStateInline(admin.TabularInline):  # type: ignore[type-arg]
    """Where IMAP polling of a mailbox has got to, and its last error."""

    model = MailboxState
    extra = 0
    can_delete = False
    readonly_fields = ("folder", "uidvalidity", "last_uid", "polled_at", "last_error")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Mailbox accounts: `address` is the mailbox; `settings` may hold `aliases` (other
    addresses it receives for) and, to poll it over IMAP, `imap_host`, `imap_port`,
    `imap_ssl` (default true), `imap_user`, `imap_folder`, `imap_processed_folder`,
    `imap_failed_folder`; the IMAP password goes in `access_token`."""

    form = ChannelAccountForm
    inlines = [MailboxStateInline]
    list_display = ["name", "kind", "slug", "address", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "address"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The inbox, read-only: what arrived, what became of it, and why it failed."""

    list_display = ["received_at", "account", "external_id", "state", "attempts", "message"]
    list_filter = ["state", "account__kind"]
    search_fields = ["external_id"]
    list_select_related = ["account", "message"]
    exclude = ["raw"]
    readonly_fields = [*(f.name for f in Delivery._meta.fields if f.name != "raw"), "mail_headers"]
    actions = ["process_now"]

    @admin.display(description=_("Mail headers"))
    def mail_headers(self, delivery: Delivery) -> str:
        """An email's header block as received (shown as text; the body stays stored)."""
        raw = bytes(delivery.raw or b"")
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        return head[:8192].decode("utf-8", errors="replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Process the selected pending deliveries now"))
    def process_now(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        pending = queryset.filter(state=Delivery.State.PENDING).values_list("pk", flat=True)
        for pk in pending:
            process_delivery(pk)
        self.message_user(request, _("Processed %d deliveries.") % len(pending), messages.INFO)
