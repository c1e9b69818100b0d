"""Supervisors review flagged replies: the two questions and the two answers side by side."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quality import reports, services
from quality.models import ReplyFingerprint, Review, SameAnswerFlag


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

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.report_view)
        return [path("report/", view, name="quality_report"), *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """The supervisors' report: one dimension over a period, as a table, charts and
        CSV (`?format=csv`)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportForm(request.GET or None)
        data = form.cleaned_data if form.is_valid() else ReportForm.defaults()
        start, end = ReportForm.period(data)
        rows = reports.report(data["by"], start, end)
        if request.GET.get("format") == "csv":
            return reports_csv(rows, data["by"], start, end)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Service quality report"),
            "opts": self.model._meta,
            "form": form,
            "rows": rows,
            "by": data["by"],
            "start": start,
            "end": end,
            "charts": chart_data(rows),
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "admin/quality/report.html", context)

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


class ReportForm(forms.Form):
    by = forms.ChoiceField(choices=[(d, d) for d in reports.DIMENSIONS], initial="channel")
    start = forms.DateField(required=False)
    end = forms.DateField(required=False, help_text=_("inclusive"))

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"by": "channel", "start": None, "end": None}

    @staticmethod
    def period(data: dict[str, Any]) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: the given days, or the last 30 days."""
        today = timezone.localdate()
        last = data.get("end") or today
        first = data.get("start") or last - timedelta(days=29)
        zone = timezone.get_current_timezone()
        start = datetime.combine(first, time.min, tzinfo=zone)
        return start, datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)


def reports_csv(
    rows: list[reports.ReportRow], by: str, start: datetime, end: datetime
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"aduan-quality-{by}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow([by if c == "key" else c for c in reports.COLUMNS])
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.as_dict().values()])
    return response


def chart_data(rows: list[reports.ReportRow]) -> dict[str, list[dict[str, Any]]]:
    """The charts' series (the total left out), for dashboard.js."""
    body = [r for r in rows if r.key != "Total"]

    def series(field: str, scale: float = 1.0) -> list[dict[str, Any]]:
        return [
            {"label": r.key, "key": r.key, "value": round(getattr(r, field) * scale, 1)}
            for r in body
            if getattr(r, field) is not None
        ]

    return {
        "tickets": series("tickets"),
        "sla_compliance": series("sla_compliance", 100),
        "csat": series("csat"),
        "first_response_median": series("first_response_median"),
    }


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Resolutions the citizen scored low or said were not solved."""

    list_display = ["created_at", "ticket", "reason", "score", "comment", "closed_at"]
    list_filter = ["reason", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket", "rating"]
    actions = ["close"]

    @admin.display(description=_("score"))
    def score(self, review: Review) -> Any:
        return review.rating.score

    @admin.display(description=_("comment"))
    def comment(self, review: Review) -> str:
        return review.rating.comment

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Close: reviewed"))
    def close(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        for review in queryset:
            services.close_review(review, by=request.user)
        self.message_user(request, _("Reviews closed."), messages.SUCCESS)
