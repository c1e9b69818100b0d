"""The agents' view in the Django admin. Every change goes through complaints.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints import selectors, services
from complaints.exceptions import CONFLICT_ERRORS
from complaints.models import Category, ChannelIdentity, Citizen, Message, Ticket, TicketEvent
from complaints.numbers import normalise_number
from partners.models import Organisation


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    verbose_name_plural = gettext_lazy("Conversation")
    fields = readonly_fields = (
        "created_at",
        "direction",
        "channel",
        "author_kind",
        "author",
        "is_internal",
        "body",
        "delivery_status",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("author")


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    verbose_name_plural = gettext_lazy("History")
    fields = readonly_fields = (
        "created_at",
        "kind",
        "from_status",
        "to_status",
        "actor",
        "actor_role",
        "public_reason",
        "internal_note",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor")


class TicketChangeForm(forms.ModelForm):  # type: ignore[type-arg]
    """Details an agent may edit; `version` makes a stale form fail instead of overwrite."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Ticket
        fields = ["subject", "category", "priority"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version


class TransitionForm(forms.Form):
    version = forms.IntegerField()
    reason = forms.CharField(required=False, max_length=2000)
    note = forms.CharField(required=False, max_length=4000)
    summary = forms.CharField(required=False, max_length=4000)
    partner = forms.ModelChoiceField(Organisation.objects.filter(is_active=True), required=False)
    into = forms.CharField(required=False, max_length=40)
    despite_closure = forms.BooleanField(required=False)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TicketChangeForm
    change_form_template = "admin/complaints/ticket/change_form.html"
    list_display = [
        "number",
        "subject",
        "citizen",
        "channel",
        "status",
        "priority",
        "assignee",
        "escalation_level",
        "created_at",
    ]
    list_filter = ["status", "channel", "priority", "category", "escalation_level"]
    list_select_related = ["citizen", "assignee"]
    search_fields = ["number", "subject", "citizen__name", "citizen__phone", "citizen__email"]
    readonly_fields = [
        "number",
        "status",
        "citizen",
        "channel",
        "channel_account",
        "assignee",
        "partner",
        "escalation_level",
        "merged_into",
        "created_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "resolution_summary",
    ]
    fieldsets = [
        (None, {"fields": ["number", "status", "subject", "category", "priority", "version"]}),
        (
            gettext_lazy("Who and where"),
            {"fields": ["citizen", "channel", "channel_account", "assignee", "partner"]},
        ),
        (
            gettext_lazy("Clock"),
            {
                "fields": [
                    "escalation_level",
                    "created_at",
                    "first_response_at",
                    "resolved_at",
                    "closed_at",
                    "resolution_summary",
                    "merged_into",
                ]
            },
        ),
    ]
    inlines = [MessageInline, TicketEventInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return selectors.tickets_visible_to(request.user).select_related(
            "citizen", "assignee", "category", "partner", "channel_account", "merged_into"
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        if number := normalise_number(search_term):  # tolerant: lower case, I/L/O
            return queryset.filter(number=number), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tickets are opened by channels and the API, numbered at once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a complaint is never deleted; it is rejected, merged or closed

    def save_model(self, request: HttpRequest, obj: Ticket, form: Any, change: bool) -> None:
        data = form.cleaned_data
        services.change_ticket_details(
            ticket=obj,
            by=request.user,
            expected_version=data["version"],
            subject=data["subject"],
            category=data["category"],
            priority=data["priority"],
        )

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except CONFLICT_ERRORS as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        ticket = self.get_object(request, object_id)
        context = extra_context or {}
        if ticket is not None:
            last = ticket.messages.order_by("-pk").values_list("pk", flat=True).first()
            context["last_message_id"] = last or 0
            context["ticket_transitions"] = [
                {
                    "name": t.name,
                    "label": t.custom["label"],
                    "reason_required": t.custom["reason_required"],
                    "needs": t.custom.get("needs", ""),
                }
                for t in selectors.available_transitions(ticket, request.user)
            ]
            context["partners"] = Organisation.objects.filter(is_active=True)
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/transition/<str:name>/",
                view(self.transition_view),
                name="complaints_ticket_transition",
            ),
            path(
                "<path:object_id>/assign-to-me/",
                view(self.assign_to_me_view),
                name="complaints_ticket_assign_to_me",
            ),
            path("<path:object_id>/live/", view(self.live_view), name="complaints_ticket_live"),
            *super().get_urls(),
        ]

    def _ticket_for_action(self, request: HttpRequest, object_id: str) -> Ticket:
        ticket = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        return ticket

    def _back(self, ticket: Ticket) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:complaints_ticket_change", args=[ticket.pk]))

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket_for_action(request, object_id)
        form = TransitionForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request, _("Invalid form: %s") % form.errors.as_text(), messages.ERROR
            )
            return self._back(ticket)
        data = form.cleaned_data
        into = None
        if data["into"]:
            into = selectors.ticket_by_number(data["into"], user=request.user)
            if into is None:
                self.message_user(request, _("No ticket %s.") % data["into"], messages.ERROR)
                return self._back(ticket)
        if name == "dispatch" and data["partner"] is not None:
            self._dispatch(request, ticket, data)
            return self._back(ticket)
        self._run(
            request,
            lambda: services.transition_ticket(
                ticket=ticket,
                transition=name,
                by=request.user,
                reason=data["reason"],
                note=data["note"],
                expected_version=data["version"],
                partner=data["partner"],
                into=into,
                summary=data["summary"],
            ),
            _("Done: %(action)s.") % {"action": selectors.transition_labels().get(name, name)},
        )
        return self._back(ticket)

    def _dispatch(self, request: HttpRequest, ticket: Ticket, data: dict[str, Any]) -> None:
        """Dispatch through the partners' service: a closed partner is a warning with its
        reason, reopening and open alternatives, until the agent ticks "send anyway"."""
        from partners import services as partners  # the partners app depends on this one

        try:
            self._run(
                request,
                lambda: partners.dispatch(
                    ticket=ticket,
                    organisation=data["partner"],
                    by=request.user,
                    reason=data["reason"],
                    note=data["note"],
                    despite_closure=data["despite_closure"],
                    expected_version=data["version"],
                ),
                _("Sent to %(name)s.") % {"name": data["partner"].name},
            )
        except partners.PartnerClosed as closed:
            others = ", ".join(o.name for o in closed.check.alternatives) or _("none")
            self.message_user(
                request,
                _(
                    'Not sent: %(warning)s Open instead: %(others)s. Tick "send anyway" to '
                    "send it all the same."
                )
                % {"warning": closed.check.warning, "others": others},
                messages.WARNING,
            )

    def live_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """What the open ticket page adds when the socket says something changed: its
        state, and the messages after `after` (a message id), as JSON for textContent."""
        ticket = get_object_or_404(self.get_queryset(request), pk=object_id)
        after = request.GET.get("after", "0")
        newer = ticket.messages.filter(pk__gt=int(after) if after.isdigit() else 0)
        rows = newer.select_related("author").order_by("pk")[:100]
        return JsonResponse(
            {
                "ticket": {
                    "status": ticket.get_status_display(),
                    "version": ticket.version,
                    "escalation_level": ticket.escalation_level,
                },
                "messages": [
                    {
                        "id": m.pk,
                        "at": timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M"),
                        "direction": m.direction,
                        "channel": m.get_channel_display(),
                        "author": m.author.get_username()
                        if m.author
                        else m.get_author_kind_display(),
                        "internal": m.is_internal,
                        "body": m.body,
                        "delivery": m.delivery_status,
                    }
                    for m in rows
                ],
            }
        )

    def assign_to_me_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket_for_action(request, object_id)
        version = request.POST.get("version", "")
        self._run(
            request,
            lambda: services.assign_ticket(
                ticket=ticket,
                assignee=request.user,
                by=request.user,
                expected_version=int(version) if version.isdigit() else None,
            ),
            _("The ticket is yours."),
        )
        return self._back(ticket)

    def _run(self, request: HttpRequest, action: Any, success: str) -> None:
        """Runs a service call and tells the agent plainly what happened."""
        try:
            action()
        except CONFLICT_ERRORS as exc:
            self.message_user(request, _("Not done: %s") % exc, messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, _("Not done: %s") % "; ".join(exc.messages), messages.ERROR)
        except PermissionDenied as exc:
            self.message_user(request, _("Not allowed: %s") % exc, messages.ERROR)
        else:
            self.message_user(request, success, messages.SUCCESS)


class ChannelIdentityInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChannelIdentity
    extra = 0
    fields = readonly_fields = ("channel", "address", "display_name", "created_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "phone", "email", "created_at"]
    search_fields = ["name", "phone", "email", "identities__address"]
    readonly_fields = ["user", "created_at"]
    inlines = [ChannelIdentityInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "is_active"]
    search_fields = ["code", "name"]
