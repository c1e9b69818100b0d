"""SLA policies and the business calendars their clocks run on."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from complaints.choices import Priority


def default_weekly_hours() -> dict[str, list[list[str]]]:
    """Monday to Friday, 08:00 to 16:00 (ISO weekday numbers as keys)."""
    return {str(day): [["08:00", "16:00"]] for day in range(1, 6)}


class BusinessCalendar(models.Model):
    """Weekly opening hours plus holidays; clocks count only time inside them."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="Asia/Jakarta")
    always_open = models.BooleanField(default=False, help_text=_("24/7: holidays ignored."))
    weekly_hours = models.JSONField(
        default=default_weekly_hours,
        help_text=_('ISO weekday → list of ["HH:MM", "HH:MM"] opening intervals.'),
    )

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class SLAPolicy(models.Model):
    """Clock windows for a category and priority (no category: the default for all)."""

    category = models.ForeignKey(
        "complaints.Category", on_delete=models.CASCADE, null=True, blank=True
    )
    priority = models.CharField(max_length=8, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()
    partner_update_minutes = models.PositiveIntegerField()
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT)
    warning_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(99)]
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"], name="sla_policy_unique_category_priority"
            ),
            models.UniqueConstraint(
                fields=["priority"],
                condition=Q(category__isnull=True),
                name="sla_policy_unique_default",
            ),
        ]

    def __str__(self) -> str:
        scope = self.category or _("all categories")
        return f"{scope} / {self.get_priority_display()}"
