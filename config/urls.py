"""Top-level URLs: the agent admin, health probes."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

from config import health

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path(settings.ADUAN_ADMIN_URL, admin.site.urls),
]

handler500 = "config.health.server_error"
