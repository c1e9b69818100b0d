"""Top-level URLs: the agent admin, the partner site, the APIs, webhooks, health probes."""

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from partners.site import site as partner_site
from webchat.views import chat_page

urlpatterns: list[URLPattern | URLResolver] = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("api/v1/chat/", include("webchat.urls")),
    path("api/v1/partner/", include("partners.urls")),
    path("api/v1/", include("complaints.api.urls")),
    path("chat/", chat_page, name="chat"),
    path("csat/", include("quality.urls")),
    path("open311/v2/", include("complaints.open311.urls")),
    path("webhooks/", include("channels_ingest.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(settings.ADUAN_ADMIN_URL, admin.site.urls),
    path("partner/", partner_site.urls),
]

if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    # Provider inbound mail, only with a basic auth secret: without one django-anymail
    # would take any request (with a warning).
    urlpatterns.append(path("anymail/", include("anymail.urls")))

handler404 = "config.health.not_found"
handler500 = "config.health.server_error"
