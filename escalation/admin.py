from django.contrib import admin

from escalation.models import BusinessCalendar, Holiday, SLAPolicy


class HolidayInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "time_zone", "always_open"]
    inlines = [HolidayInline]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "__str__",
        "first_response_minutes",
        "resolution_minutes",
        "partner_update_minutes",
        "calendar",
        "warning_percent",
    ]
    list_filter = ["priority", "calendar"]
    list_select_related = ["category", "calendar"]
