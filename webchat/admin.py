"""Conversations are read in the admin; they are written only through the chat itself."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from webchat.models import ChatEvent, Conversation


class ChatEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChatEvent
    fields = ("seq", "kind", "role", "sender_name", "text", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("public_id", "ticket", "last_seq", "created_at", "closed_at")
    search_fields = ("public_id", "ticket__number")
    readonly_fields = ("public_id", "citizen", "ticket", "last_seq", "created_at", "closed_at")
    exclude = ("resume_digest", "citizen_read_seq", "agent_read_seq")
    list_select_related = ("ticket",)
    inlines = [ChatEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
