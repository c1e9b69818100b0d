"""Partner organisations (pharmacies, agencies, insurers, departments) and their staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    PHARMACY = "pharmacy", _("Pharmacy")
    HOSPITAL = "hospital", _("Hospital")
    AGENCY = "agency", _("Government agency")
    INSURER = "insurer", _("Insurer")
    FIELD_TEAM = "field_team", _("Field team")
    DEPARTMENT = "department", _("Other department")
    OTHER = "other", _("Other")


class ServiceArea(models.Model):
    """A district, city or region partners serve; dispatch offers partners of the same
    kind in the same area."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=12, choices=OrganisationKind.choices)
    is_active = models.BooleanField(default=True)
    service_areas = models.ManyToManyField(ServiceArea, blank=True, related_name="organisations")
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    sees_citizen_contact = models.BooleanField(
        default=False,
        help_text=_(
            "Its staff see the citizen's phone and email (a field team that must call); "
            "otherwise they are masked."
        ),
    )
    calendar = models.ForeignKey(
        "escalation.BusinessCalendar",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        help_text=_(
            "Its opening hours, holidays and closures: its update clock runs only while it "
            "is open. Empty: the SLA policy's calendar."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    STAFF = "staff", _("Staff")
    MANAGER = "manager", _("Manager")


class Membership(models.Model):
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships"
    )
    role = models.CharField(max_length=8, choices=MemberRole.choices, default=MemberRole.STAFF)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class Outcome(models.TextChoices):
    DONE = "done", _("Done by the partner")
    RETURNED = "returned", _("Returned by the partner")
    TAKEN_BACK = "taken_back", _("Taken back by the agents")
    CLOSED = "closed", _("Ticket resolved or closed")


class Assignment(models.Model):
    """One stay of a ticket with a partner: dispatched, accepted, updated, ended. A ticket
    has at most one current assignment (a constraint); past ones stay, read-only to the
    partner, and keep the whole history of re-dispatches and returns."""

    ticket = models.ForeignKey(
        "complaints.Ticket", on_delete=models.CASCADE, related_name="partner_assignments"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="assignments"
    )
    reason = models.TextField(blank=True, help_text=_("Why it was sent, for the citizen."))
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    dispatched_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updates = models.PositiveIntegerField(default=0)
    last_update_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    summary = models.TextField(blank=True, help_text=_("The partner's summary, or why it ended."))

    class Meta:
        ordering = ["-dispatched_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(ended_at__isnull=True), name="assignment_one_current"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-dispatched_at"])]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.organisation}"

    @property
    def is_current(self) -> bool:
        return self.ended_at is None


class ConsultState(models.TextChoices):
    OPEN = "open", _("Waiting for the answer")
    ANSWERED = "answered", _("Answered")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsultRequest(models.Model):
    """A scoped question to another department or an outside body (the insurer, the
    medical-records unit): it carries only the excerpt the agent chose to share, never
    the ticket; it has its own deadline on the body's calendar. The citizen reads that
    the ticket waits on the body, not what was asked."""

    ticket = models.ForeignKey(
        "complaints.Ticket", on_delete=models.CASCADE, related_name="consults"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="consults"
    )
    question = models.TextField()
    excerpt = models.TextField(
        blank=True, help_text=_("Only what the body needs to answer; it sees nothing else.")
    )
    state = models.CharField(max_length=10, choices=ConsultState.choices, default=ConsultState.OPEN)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    asked_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    clock = models.OneToOneField(
        "escalation.Clock", on_delete=models.SET_NULL, null=True, blank=True, related_name="consult"
    )
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-asked_at"]
        indexes = [models.Index(fields=["organisation", "state", "-asked_at"])]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.question[:60]}"
