"""Partners in the agents' admin: organisations (areas, calendar, contacts, members),
their assignments and consult requests, and their performance for supervisors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.roles import Role, role_of
from partners import selectors
from partners import services as partners
from partners.models import Assignment, ConsultRequest, Membership, Organisation, ServiceArea


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(ServiceArea)
class ServiceAreaAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_template = "admin/partners/organisation/change_list.html"
    list_display = ["name", "kind", "calendar", "is_active"]
    list_select_related = ["calendar"]
    list_filter = ["kind", "is_active", "service_areas"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["service_areas"]
    inlines = [MembershipInline]

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.performance_view)
        return [path("performance/", view, name="partners_performance"), *super().get_urls()]

    def performance_view(self, request: HttpRequest) -> HttpResponse:
        """Each partner's record over the last `days` (default 90), for supervisors."""
        if role_of(request.user) is not Role.SUPERVISOR:
            raise PermissionDenied
        raw = request.GET.get("days", "90")
        days = int(raw) if raw.isdigit() and 0 < int(raw) <= 3660 else 90
        rows = selectors.performance(timezone.now() - timedelta(days=days))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Partner performance"),
            "opts": self.model._meta,
            "rows": rows,
            "days": days,
        }
        return TemplateResponse(request, "admin/partners/performance.html", context)


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnly):
    list_display = [
        "ticket",
        "organisation",
        "dispatched_at",
        "accepted_at",
        "updates",
        "ended_at",
        "outcome",
    ]
    list_filter = ["outcome", "organisation"]
    list_select_related = ["ticket", "organisation"]
    search_fields = ["=ticket__number"]
    date_hierarchy = "dispatched_at"


class AskForm(forms.ModelForm):  # type: ignore[type-arg]
    minutes = forms.IntegerField(
        required=False,
        min_value=1,
        help_text=_("Business minutes the body has to answer (empty: the policy's window)."),
    )

    class Meta:
        model = ConsultRequest
        fields = ["ticket", "organisation", "question", "excerpt"]


@admin.register(ConsultRequest)
class ConsultRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Agents ask a body a scoped question (only the excerpt goes to it)."""

    form = AskForm
    list_display = ["ticket", "organisation", "state", "asked_at", "due_at", "answered_at"]
    list_filter = ["state", "organisation"]
    list_select_related = ["ticket", "organisation"]
    raw_id_fields = ["ticket"]
    search_fields = ["=ticket__number", "question"]
    actions = ["withdraw"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return [f.name for f in ConsultRequest._meta.fields]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["ticket", "organisation", "question", "excerpt", "minutes"]
        return super().get_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # read-only once asked
        data = form.cleaned_data
        try:
            asked = partners.ask(
                ticket=data["ticket"],
                organisation=data["organisation"],
                by=request.user,
                question=data["question"],
                excerpt=data.get("excerpt", ""),
                minutes=data.get("minutes"),
            )
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            raise
        obj.pk = asked.pk

    @admin.action(description=_("Withdraw the selected open requests"))
    def withdraw(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for consult in queryset:
            try:
                partners.withdraw_consult(consult=consult, by=request.user)
                done += 1
            except partners.ConsultClosed:
                continue
        self.message_user(request, _("%d withdrawn.") % done, messages.SUCCESS)
