from django.contrib import admin

from escalation.models import BusinessCalendar, Closure, Escalation, Holiday, SLAPolicy


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


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Escalations, read-only: by a clock's breach (once per clock and level) or by hand."""

    list_display = ["created_at", "ticket", "level", "clock", "by", "acknowledged_at"]
    list_filter = ["level"]
    list_select_related = ["ticket", "clock", "by"]
    search_fields = ["ticket__number"]
    readonly_fields = [f.name for f in Escalation._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
