"""Supervisors review flagged replies: the two questions and the two answers side by side."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from quality import services
from quality.models import ReplyFingerprint, SameAnswerFlag


@admin.register(SameAnswerFlag)
class SameAnswerFlagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    change_form_template = "admin/quality/sameanswerflag/evidence.html"
    list_display = [
        "created_at",
        "author",
        "reply_ticket",
        "earlier_ticket",
        "reply_similarity",
        "question_similarity",
        "state",
    ]
    list_filter = ["state", "author"]
    list_select_related = ["author", "reply__ticket", "earlier__ticket"]
    actions = ["confirm", "dismiss"]

    @admin.display(description=_("reply on"))
    def reply_ticket(self, flag: SameAnswerFlag) -> str:
        return flag.reply.ticket.number

    @admin.display(description=_("same as on"))
    def earlier_ticket(self, flag: SameAnswerFlag) -> str:
        return flag.earlier.ticket.number

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # reviewed with the actions, through the service

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        flag = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if flag is not None:
            questions = dict(
                ReplyFingerprint.objects.filter(
                    message_id__in=[flag.reply_id, flag.earlier_id]
                ).values_list("message_id", "question_text")
            )
            context["sides"] = [
                (message, questions.get(message.pk, "")) for message in (flag.reply, flag.earlier)
            ]
        return super().change_view(request, object_id, form_url, context)

    def _review(self, request: HttpRequest, flags: QuerySet[SameAnswerFlag], ok: bool) -> None:
        for flag in flags:
            services.review_flag(flag, by=request.user, confirmed=ok)
        self.message_user(request, _("%d flags reviewed.") % flags.count(), messages.SUCCESS)

    @admin.action(description=_("Confirm: the same answer to different questions"))
    def confirm(self, request: HttpRequest, queryset: QuerySet[SameAnswerFlag]) -> None:
        self._review(request, queryset, True)

    @admin.action(description=_("Dismiss: the answer fits both questions"))
    def dismiss(self, request: HttpRequest, queryset: QuerySet[SameAnswerFlag]) -> None:
        self._review(request, queryset, False)
