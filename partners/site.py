"""The partner site at `/partner/`: an admin site of its own, for partner staff only.

It shows the tickets the member's organisations hold now (to act on) or held before
(read-only), the fields a partner needs with the citizen's contact masked unless the
organisation's job needs it, and four actions, each a call of `partners.services`:
accept, post an update (to the citizen or for the agents), mark done, return. A ticket
that is not theirs is 404 on every view, never a redirect that tells it exists.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from complaints.models import Ticket
from complaints.roles import Role, partner_organisation_ids, role_of
from partners import services as partners
from partners.models import Assignment, ConsultRequest, ConsultState


class PartnerLoginForm(AdminAuthenticationForm):
    """Partner staff sign in here; they are not staff of the institution's admin."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _("Please enter the username and password of a partner staff account."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        if role_of(user) is not Role.PARTNER:
            raise ValidationError(self.error_messages["invalid_login"], code="invalid_login")


class PartnerSite(admin.AdminSite):
    site_header = _("Aduan — partners")
    site_title = _("Aduan partners")
    index_title = _("Your organisation's tickets")
    login_form = PartnerLoginForm
    enable_nav_sidebar = False
    final_catch_all_view = False

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and role_of(request.user) is Role.PARTNER)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        """Without the generic object redirect (`r/<type>/<id>/`, which says whether any
        row exists) and autocomplete (no partner form uses it)."""
        unused = {"view_on_site", "autocomplete"}
        return [u for u in super().get_urls() if getattr(u, "name", None) not in unused]


site = PartnerSite(name="partner")


class ActionForm(forms.Form):
    body = forms.CharField(required=False, max_length=10_000)
    internal = forms.BooleanField(required=False)
    text = forms.CharField(required=False, max_length=2000)


class ReadOnlyForPartners(admin.ModelAdmin):  # type: ignore[type-arg]
    """What every partner-site page shares: members read, and act only through the
    page's own action views; adding, editing, deleting and the agents' edit history are
    not theirs; an object that is not theirs is 404 (never "does not exist, perhaps
    deleted?", which would say something about others')."""

    actions = None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise Http404

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise Http404

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        raise Http404


class PartnerTicketAdmin(ReadOnlyForPartners):
    change_form_template = "partner/ticket_change_form.html"
    list_display = ["number", "subject", "status", "priority", "is_current", "dispatched_at"]
    list_filter = ["status", "priority"]
    search_fields = ["=number", "subject"]
    list_per_page = 50
    readonly_fields = (
        "number",
        "subject",
        "status",
        "priority",
        "category",
        "created_at",
        "address",
        "citizen_contact",
        "dispatch_reason",
        "conversation",
    )
    fields = readonly_fields

    # --- Scope: the one rule, on every view -------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        ours = Assignment.objects.filter(
            organisation_id__in=partner_organisation_ids(request.user)
        ).select_related("organisation")
        return (
            partners.tickets_of(request.user)
            .select_related("category", "citizen")
            .prefetch_related(
                Prefetch("partner_assignments", queryset=ours, to_attr="our_assignments")
            )
        )

    # --- What a partner reads ---------------------------------------------------------

    @admin.display(boolean=True, description=_("With us now"))
    def is_current(self, ticket: Ticket) -> bool:
        latest = self._latest(ticket)
        return latest is not None and latest.ended_at is None

    @admin.display(description=_("Sent to us"))
    def dispatched_at(self, ticket: Ticket) -> Any:
        latest = self._latest(ticket)
        return latest.dispatched_at if latest else None

    @admin.display(description=_("Why it was sent"))
    def dispatch_reason(self, ticket: Ticket) -> str:
        latest = self._latest(ticket)
        return latest.reason if latest else ""

    @admin.display(description=_("Citizen"))
    def citizen_contact(self, ticket: Ticket) -> str:
        citizen = ticket.citizen
        latest = self._latest(ticket)
        plain = latest is not None and latest.organisation.sees_citizen_contact
        phone, email = citizen.phone or "", citizen.email or ""
        if not plain:
            phone = partners.mask_phone(phone) if phone else ""
            email = partners.mask_email(email) if email else ""
        return " · ".join(part for part in (citizen.name, phone, email) if part)

    @admin.display(description=_("Conversation"))
    def conversation(self, ticket: Ticket) -> str:
        rows = [
            (
                f"{m.created_at:%Y-%m-%d %H:%M}",
                m.get_author_kind_display(),
                _(" (internal)") if m.is_internal else "",
                m.body,
            )
            for m in partners.visible_messages(ticket, self._until(ticket))
        ]
        return format_html_join("", '<p class="aduan-message"><b>{} {}{}</b><br>{}</p>', rows)

    @classmethod
    def _until(cls, ticket: Ticket) -> Any:
        latest = cls._latest(ticket)
        return latest.ended_at if latest else None

    @staticmethod
    def _latest(ticket: Ticket) -> Assignment | None:
        """The organisation's latest stay with the ticket (`get_queryset` fetched them)."""
        ours: list[Assignment] = ticket.our_assignments  # type: ignore[attr-defined]
        return ours[0] if ours else None

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        ticket = get_object_or_404(self.get_queryset(request), pk=_pk(object_id))
        context = {**(extra_context or {}), "can_act": partners.is_current(ticket, request.user)}
        latest = self._latest(ticket)
        context["accepted"] = bool(latest and latest.accepted_at)
        return super().change_view(request, object_id, form_url, context)

    # --- The four actions --------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/act/<str:name>/", view(self.act_view), name="partner_act"),
            *super().get_urls(),
        ]

    def act_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = get_object_or_404(self.get_queryset(request), pk=_pk(object_id))
        if not partners.is_current(ticket, request.user):
            return HttpResponse(_("This ticket is no longer with your organisation."), status=409)
        form = ActionForm(request.POST)
        if not form.is_valid() or name not in ACTIONS:
            raise Http404
        data, user = form.cleaned_data, request.user
        act, done = ACTIONS[name]
        try:
            act(ticket, user, data)
        except ValidationError as exc:
            self.message_user(request, _("Not done: %s") % "; ".join(exc.messages), messages.ERROR)
        except PermissionDenied as exc:
            self.message_user(request, _("Not allowed: %s") % exc, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        url = reverse("partner:complaints_ticket_change", args=[ticket.pk])
        return HttpResponseRedirect(url)


def _pk(object_id: str) -> int:
    if not object_id.isdigit():
        raise Http404
    return int(object_id)


ACTIONS: dict[str, tuple[Any, Any]] = {
    "accept": (lambda t, u, d: partners.accept(ticket=t, by=u), _("Accepted.")),
    "update": (
        lambda t, u, d: partners.post_update(
            ticket=t, by=u, body=d["body"], internal=d["internal"]
        ),
        _("Update posted."),
    ),
    "done": (
        lambda t, u, d: partners.mark_done(ticket=t, by=u, summary=d["text"]),
        _("Marked done."),
    ),
    "return": (
        lambda t, u, d: partners.return_ticket(ticket=t, by=u, reason=d["text"]),
        _("Returned to the agents."),
    ),
}


class PartnerConsultAdmin(ReadOnlyForPartners):
    """Questions to the organisation: the excerpt the agent shared, and nothing of the
    ticket; answered with one form."""

    change_form_template = "partner/consult_change_form.html"
    list_display = ["id", "short_question", "state", "asked_at", "due_at"]
    list_filter = ["state"]
    readonly_fields = (
        "question",
        "excerpt",
        "state",
        "asked_at",
        "due_at",
        "answer",
        "answered_at",
    )
    fields = readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConsultRequest]:
        return partners.consults_of(request.user)

    @admin.display(description=_("Question"))
    def short_question(self, consult: ConsultRequest) -> str:
        return consult.question[:80]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        consult = get_object_or_404(self.get_queryset(request), pk=_pk(object_id))
        context = {**(extra_context or {}), "can_answer": consult.state == ConsultState.OPEN}
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/answer/", view(self.answer_view), name="partner_answer"),
            *super().get_urls(),
        ]

    def answer_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        consult = get_object_or_404(self.get_queryset(request), pk=_pk(object_id))
        try:
            partners.answer_consult(
                consult=consult, by=request.user, text=request.POST.get("answer", "")[:10_000]
            )
        except partners.ConsultClosed as exc:
            return HttpResponse(str(exc), status=409)
        except ValidationError as exc:
            self.message_user(request, _("Not done: %s") % "; ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("Answer sent."), messages.SUCCESS)
        url = reverse("partner:partners_consultrequest_change", args=[consult.pk])
        return HttpResponseRedirect(url)


site.register(Ticket, PartnerTicketAdmin)
site.register(ConsultRequest, PartnerConsultAdmin)
