from typing import Any

from django.contrib import admin

from escalation.models import (
    BusinessCalendar,
    Closure,
    DutyShift,
    Escalation,
    EscalationContact,
    Holiday,
    SLAPolicy,
)


class HolidayInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Holiday
    extra = 0


class ClosureInline(admin.TabularInline):  # type: ignore[type-arg]
    """Dated closures: the calendar's clocks stop, and citizens may read the reason."""

    model = Closure
    extra = 0
    fields = ["starts_at", "ends_at", "reason"]


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "time_zone", "always_open", "country", "collective_leave"]
    inlines = [HolidayInline, ClosureInline]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "__str__",
        "first_response_minutes",
        "resolution_minutes",
        "partner_update_minutes",
        "calendar",
        "warning_percent",
        "level2_after_minutes",
        "level3_after_minutes",
    ]
    list_filter = ["priority", "calendar"]
    list_select_related = ["category", "calendar"]


class DutyShiftInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DutyShift
    extra = 0


@admin.register(EscalationContact)
class EscalationContactAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Who hears of escalations, per organisation (empty: the institution) and level; a
    contact with shifts is reached only during them."""

    list_display = ["name", "level", "organisation", "email", "phone", "is_active"]
    list_filter = ["level", "is_active"]
    list_select_related = ["organisation"]
    inlines = [DutyShiftInline]


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Escalations, read-only: by a clock's breach (once per clock and level) or by hand."""

    list_display = ["created_at", "ticket", "level", "clock", "by", "acknowledged_at"]
    list_filter = ["level"]
    list_select_related = ["ticket", "clock", "by"]
    search_fields = ["ticket__number"]
    readonly_fields = [f.name for f in Escalation._meta.fields]
    actions = ["acknowledge"]

    @admin.action(description="Acknowledge the selected escalations (no more reminders)")
    def acknowledge(self, request: Any, queryset: Any) -> None:
        from escalation.services import acknowledge

        for escalation in queryset.filter(acknowledged_at__isnull=True):
            acknowledge(escalation, by=request.user)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
