"""The agents' view in the Django admin. Every change goes through complaints.services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints import selectors, services
from complaints.choices import Status
from complaints.exceptions import CONFLICT_ERRORS
from complaints.models import (
    CannedResponse,
    Category,
    ChannelIdentity,
    Citizen,
    HandoverNote,
    Message,
    Ticket,
)
from complaints.numbers import normalise_number
from partners.models import Organisation


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


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=4000)
    mode = forms.ChoiceField(choices=[("reply", "reply"), ("note", "note")])
    # The status block goes with every reply to the citizen unless this is ticked.
    without_status = forms.BooleanField(required=False)


class EscalateForm(forms.Form):
    reason = forms.CharField(max_length=2000)


AT_RISK = int(selectors.AT_RISK.total_seconds() // 60)  # minutes: the queue's "at risk"


class MineFilter(admin.SimpleListFilter):
    title = gettext_lazy("assigned")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("mine", gettext_lazy("To me")), ("nobody", gettext_lazy("Unassigned"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "mine":
            return queryset.filter(assignee_id=request.user.pk)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


class SLAFilter(admin.SimpleListFilter):
    title = gettext_lazy("SLA")
    parameter_name = "sla"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("breached", gettext_lazy("Breached")),
            ("at_risk", gettext_lazy("At risk")),
            ("paused", gettext_lazy("Paused")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        now = timezone.now()
        if self.value() == "breached":
            return queryset.filter(Q(sla_due__lt=now))  # annotated by selectors.with_sla_due
        if self.value() == "at_risk":
            return queryset.filter(
                Q(sla_due__gte=now, sla_due__lt=now + timedelta(minutes=AT_RISK))
            )
        if self.value() == "paused":
            return queryset.filter(status__in=Status.open_states()).exclude(sla_paused_reason="")
        return queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TicketChangeForm
    change_form_template = "admin/complaints/ticket/change_form.html"
    list_display = [
        "number",
        "sla",
        "subject",
        "citizen",
        "channel",
        "status",
        "priority",
        "escalation_level",
        "assignee",
        "partner",
        "created_at",
    ]
    list_filter = [
        MineFilter,
        "status",
        SLAFilter,
        "channel",
        "priority",
        "category",
        "escalation_level",
        "partner",
    ]
    list_select_related = ["citizen", "assignee", "partner"]
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

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        """Most urgent first: the nearest due time, then the newest."""
        return [F("sla_due").asc(nulls_last=True), "-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        return selectors.with_sla_due(
            selectors.tickets_visible_to(request.user).select_related(
                "citizen", "assignee", "category", "partner", "channel_account", "merged_into"
            )
        )

    @admin.display(description=gettext_lazy("SLA"), ordering="sla_due")
    def sla(self, ticket: Ticket) -> str:
        """Time left, at risk, breached, or paused (and why), as a badge."""
        due = getattr(ticket, "sla_due", None)
        if ticket.status in Status.open_states() and ticket.sla_paused_reason and due is None:
            return format_html(
                '<span class="sla sla-paused" title="{}">{}</span>',
                ticket.sla_paused_reason,
                _("paused"),
            )
        if due is None:
            return "—"
        left = due - timezone.now()
        minutes = int(left.total_seconds() // 60)
        if minutes < 0:
            return format_html(
                '<span class="sla sla-breached">{}</span>',
                _("breached %(t)s ago") % {"t": _span(-minutes)},
            )
        kind = "sla-risk" if minutes < AT_RISK else "sla-ok"
        return format_html(
            '<span class="sla {}">{}</span>', kind, _("%(t)s left") % {"t": _span(minutes)}
        )

    class Media:
        css = {"all": ["complaints/ticket.css"]}
        js = ["complaints/queue.js"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        """By number (tolerant: lower case, I/L/O), else by subject and the citizen's
        name, phone and email, and on PostgreSQL by the words of any message (full-text,
        through the `message_body_search` index)."""
        if number := normalise_number(search_term):
            return queryset.filter(number=number), False
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip() and connection.vendor == "postgresql":
            query = SearchQuery(search_term, config="simple", search_type="websearch")
            said = Message.objects.annotate(words=SearchVector("body", config="simple")).filter(
                ticket=OuterRef("pk"), words=query
            )
            found = found | queryset.filter(Exists(said))
        return found, duplicates

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
            context |= self._workspace(request, ticket)
        return super().change_view(request, object_id, form_url, context)

    def _workspace(self, request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
        """The ticket page's thread, composer and merge suggestions."""
        public = services.reply_is_public(ticket)
        canned = []
        for response in CannedResponse.objects.filter(is_active=True):
            try:
                canned.append((response.title, services.fill(response.body, ticket, public=public)))
            except (ValidationError, KeyError, ValueError):
                continue  # saved outside the admin's check: not offered
        return {
            "thread": selectors.thread(ticket),
            "canned": canned,
            "status_block": services.status_block(ticket),
            "reply_public": public,
            "duplicates": selectors.likely_duplicates(ticket, request.user),
        }

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
            path("<path:object_id>/reply/", view(self.reply_view), name="complaints_ticket_reply"),
            path(
                "<path:object_id>/escalate/",
                view(self.escalate_view),
                name="complaints_ticket_escalate",
            ),
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

    def reply_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The composer: a reply on the citizen's channel (with the status block unless
        the agent ticked to leave it out) or an internal note."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket_for_action(request, object_id)
        form = ReplyForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Not sent: %s") % form.errors.as_text(), messages.ERROR)
            return self._back(ticket)
        data = form.cleaned_data
        internal = data["mode"] == "note"
        channel = ticket.get_channel_display()
        done = _("Note added.") if internal else _("Reply queued on %s.") % channel
        self._run(
            request,
            lambda: services.reply(
                ticket=ticket,
                by=request.user,
                body=data["body"],
                internal=internal,
                with_status=not data["without_status"],
            ),
            done,
        )
        return self._back(ticket)

    def escalate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Raise the ticket one escalation level, saying why (nothing else changes)."""
        from escalation import services as sla  # the escalation app depends on this one

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket_for_action(request, object_id)
        form = EscalateForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Not escalated: say why."), messages.ERROR)
            return self._back(ticket)
        self._run(
            request,
            lambda: sla.escalate(ticket, by=request.user, reason=form.cleaned_data["reason"]),
            _("Escalated to level %s.") % (ticket.escalation_level + 1),
        )
        return self._back(ticket)

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


def _span(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // (24 * 60)} d"


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


class CannedResponseForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CannedResponse
        fields = ["title", "body", "is_active"]

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        try:
            services.placeholders_in(body)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["body"]) from exc
        return body


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CannedResponseForm
    list_display = ["title", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "body"]


class HandoverForm(forms.Form):
    body = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


@admin.register(HandoverNote)
class HandoverNoteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Shift handover: the team's open tickets by agent, the notes the previous shift left
    for this one, and a note for the next shift."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a note is what was said at the time

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:complaints_handovernote_changelist"))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = HandoverForm(request.POST or None)
        if request.method == "POST" and self.has_add_permission(request) and form.is_valid():
            services.write_handover_note(by=request.user, body=form.cleaned_data["body"])
            self.message_user(request, _("Note left for the next shift."), messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Shift handover"),
            "opts": self.model._meta,
            "handover": selectors.handover(timezone.now()),
            "form": form,
            "can_write": self.has_add_permission(request),
        }
        return TemplateResponse(request, "admin/complaints/handover.html", context)
