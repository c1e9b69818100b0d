"""Partner organisations (pharmacies, agencies, insurers, departments) and their staff."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    PHARMACY = "pharmacy", _("Pharmacy")
    HOSPITAL = "hospital", _("Hospital")
    AGENCY = "agency", _("Government agency")
    INSURER = "insurer", _("Insurer")
    FIELD_TEAM = "field_team", _("Field team")
    DEPARTMENT = "department", _("Other department")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=12, choices=OrganisationKind.choices)
    is_active = models.BooleanField(default=True)
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
