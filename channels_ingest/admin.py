from django.contrib import admin

from channels_ingest.models import ChannelAccount


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "kind", "slug", "address", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "address"]
