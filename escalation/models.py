"""SLA policies and the business calendars their clocks run on."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
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
    country = models.CharField(
        max_length=2,
        default="ID",
        blank=True,
        help_text=_("Public holidays of this country (the holidays package); empty for none."),
    )
    collective_leave = models.BooleanField(
        default=True,
        help_text=_("Also closed on the government's collective leave days (cuti bersama)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from escalation.businesstime import parse_weekly

        try:
            parse_weekly(self.weekly_hours or {})
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValidationError({"weekly_hours": str(exc)}) from exc


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


class Closure(models.Model):
    """A dated closure (renovation, a strike, Eid for a pharmacy that closes longer): the
    clocks on this calendar stop, and citizens may read why."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="closures"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=300, help_text=_("Shown to citizens."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="closure_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.calendar}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M}"


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
    level2_after_minutes = models.PositiveIntegerField(
        default=60, help_text=_("Business minutes after the breach until escalation level 2.")
    )
    level3_after_minutes = models.PositiveIntegerField(
        default=240, help_text=_("Business minutes after the breach until escalation level 3.")
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


class ClockKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")
    PARTNER_UPDATE = "partner_update", _("Partner update")
    CONSULT = "consult", _("Consult request")


class Clock(models.Model):
    """One SLA clock of a ticket: its window on a calendar, when it falls due, and where
    the sweep has got to with it. `next_check_at` is the next moment the sweep must look
    (the warning, the breach, the next escalation level); empty when there is nothing
    left to do (stopped, paused, or at the last level), so the sweep reads only what is
    due, through a small index."""

    ticket = models.ForeignKey("complaints.Ticket", on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(max_length=16, choices=ClockKind.choices)
    round = models.PositiveSmallIntegerField(
        default=0, help_text=_("The ticket's reopen count when this clock started.")
    )
    policy = models.ForeignKey(SLAPolicy, on_delete=models.SET_NULL, null=True, related_name="+")
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(
        "partners.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_(
            "Whose clock it is (a partner's, a consulted body's); its contacts hear first."
        ),
    )
    window = models.DurationField(help_text=_("Business time allowed."))
    started_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=200, blank=True)
    remaining = models.DurationField(
        null=True, blank=True, help_text=_("Business time left when it was paused.")
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    level = models.PositiveSmallIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "round"], name="clock_unique"),
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="clock_next_check",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Escalation(models.Model):
    """An escalation of a ticket to a level: by a clock's breach (once per clock and
    level, a database constraint) or by an agent, with a reason."""

    ticket = models.ForeignKey(
        "complaints.Ticket", on_delete=models.CASCADE, related_name="escalations"
    )
    clock = models.ForeignKey(
        Clock, on_delete=models.CASCADE, null=True, blank=True, related_name="escalations"
    )
    level = models.PositiveSmallIntegerField()
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Critical escalations are repeated to the on-duty contacts until acknowledged.
    repeat_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "level"],
                condition=Q(clock__isnull=False),
                name="escalation_once_per_clock_level",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="escalation_ticket_time"),
            models.Index(
                fields=["repeat_at"],
                condition=Q(repeat_at__isnull=False, acknowledged_at__isnull=True),
                name="escalation_repeat_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} level {self.level}"


class EscalationContact(models.Model):
    """Who hears of an escalation to a level: for the institution itself (no
    organisation) or for a partner organisation holding the ticket."""

    organisation = models.ForeignKey(
        "partners.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="escalation_contacts",
        help_text=_("Empty: the institution's own contacts."),
    )
    level = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    name = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return f"{self.name} (level {self.level})"


class DutyShift(models.Model):
    """When a contact is on duty. A contact with no shifts at all is always reachable;
    one with shifts, only during them."""

    contact = models.ForeignKey(EscalationContact, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["contact", "ends_at"], name="shift_contact_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"
