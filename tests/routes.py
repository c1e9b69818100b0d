"""The route inventory (RELIABILITY T-f): every HTTP and WebSocket route, classified by
who may use it. A route that is not here fails `tests/test_routes.py`: adding one means
saying who it is for, and the isolation matrix (tests/partners/test_isolation.py) then
tries it as a partner of another organisation.

Classes: public (anyone), citizen (a citizen's own tickets), partner (a partner member's
own organisation's work), agent (staff), supervisor (staff who run the service),
webhook (providers, signed).
"""

from __future__ import annotations

ROUTES: dict[str, str] = {
    # Probes and public pages.
    "healthz": "public",
    "readyz": "public",
    "chat/": "public",
    "api/schema/": "public",
    "api/docs/": "public",
    "api/v1/auth/register/": "public",
    "api/v1/auth/token/": "public",
    "api/v1/categories/": "public",
    "open311/v2/^services\\.(?P<format>json|xml)$": "public",
    # Web chat: a conversation's own token.
    "api/v1/chat/start/": "citizen",
    "api/v1/chat/<str:conversation>/token/": "citizen",
    "api/v1/chat/<str:conversation>/events/": "citizen",
    "ws/chat/<str:conversation>/": "citizen",
    # The satisfaction question: a signed link's own survey.
    "csat/<str:token>/": "citizen",
    # The agents' live socket.
    "ws/agents/": "agent",
    # The citizen API (partners and agents: what their role may see).
    "api/v1/^tickets/$": "citizen",
    "api/v1/^tickets/(?P<number>[^/]+)/$": "citizen",
    "api/v1/^tickets/(?P<number>[^/]+)/attachments/(?P<attachment_id>\\d+)/$": "citizen",
    "api/v1/^tickets/(?P<number>[^/]+)/messages/$": "citizen",
    "api/v1/^tickets/(?P<number>[^/]+)/rating/$": "citizen",
    "api/v1/^tickets/(?P<number>[^/]+)/reopen/$": "citizen",
    "open311/v2/^requests\\.(?P<format>json|xml)$": "citizen",
    "open311/v2/^requests/(?P<service_request_id>[^/]+)\\.(?P<format>json|xml)$": "citizen",
    # Providers.
    "webhooks/<str:kind>/<slug:slug>/": "webhook",
    "anymail/": "webhook",
    # The partner API.
    "api/v1/partner/^tickets/$": "partner",
    "api/v1/partner/^tickets/(?P<number>[^/]+)/$": "partner",
    "api/v1/partner/^tickets/(?P<number>[^/]+)/accept/$": "partner",
    "api/v1/partner/^tickets/(?P<number>[^/]+)/done/$": "partner",
    "api/v1/partner/^tickets/(?P<number>[^/]+)/return/$": "partner",
    "api/v1/partner/^tickets/(?P<number>[^/]+)/updates/$": "partner",
    "api/v1/partner/^consults/$": "partner",
    "api/v1/partner/^consults/(?P<pk>[^/.]+)/$": "partner",
    "api/v1/partner/^consults/(?P<pk>[^/.]+)/answer/$": "partner",
    # The partner site.
    "partner/": "partner",
    "partner/login/": "public",
    "partner/logout/": "partner",
    "partner/password_change/": "partner",
    "partner/password_change/done/": "partner",
    "partner/jsi18n/": "partner",
    "partner/^(?P<app_label>complaints|partners)/$": "partner",
    "partner/complaints/ticket/": "partner",
    "partner/complaints/ticket/add/": "partner",
    "partner/complaints/ticket/<path:object_id>/": "partner",
    "partner/complaints/ticket/<path:object_id>/change/": "partner",
    "partner/complaints/ticket/<path:object_id>/history/": "partner",
    "partner/complaints/ticket/<path:object_id>/delete/": "partner",
    "partner/complaints/ticket/<path:object_id>/act/<str:name>/": "partner",
    "partner/partners/consultrequest/": "partner",
    "partner/partners/consultrequest/add/": "partner",
    "partner/partners/consultrequest/<path:object_id>/": "partner",
    "partner/partners/consultrequest/<path:object_id>/change/": "partner",
    "partner/partners/consultrequest/<path:object_id>/history/": "partner",
    "partner/partners/consultrequest/<path:object_id>/delete/": "partner",
    "partner/partners/consultrequest/<path:object_id>/answer/": "partner",
    # The agents' admin: the site's own pages, extra views, then every model's pages.
    "admin/": "agent",
    "admin/login/": "public",
    "admin/logout/": "agent",
    "admin/password_change/": "agent",
    "admin/password_change/done/": "agent",
    "admin/autocomplete/": "agent",
    "admin/jsi18n/": "agent",
    "admin/r/<path:content_type_id>/<path:object_id>/": "agent",
    "admin/(?P<url>.*)$": "agent",
    "admin/complaints/ticket/<path:object_id>/transition/<str:name>/": "agent",
    "admin/complaints/ticket/<path:object_id>/assign-to-me/": "agent",
    "admin/complaints/ticket/<path:object_id>/live/": "agent",
    "admin/complaints/ticket/<path:object_id>/reply/": "agent",
    "admin/complaints/ticket/<path:object_id>/escalate/": "agent",
    "admin/partners/organisation/performance/": "supervisor",
    "admin/quality/sameanswerflag/report/": "supervisor",
}

# Models in the agents' admin, each with its changelist, add, change, history and delete
# pages (who may open them is the model admin's permissions).
ADMIN_MODELS: dict[str, str] = {
    "auth/group": "supervisor",
    "auth/user": "supervisor",
    "authtoken/tokenproxy": "supervisor",
    "axes/accessattempt": "supervisor",
    "axes/accesslog": "supervisor",
    "axes/accessfailurelog": "supervisor",
    "complaints/ticket": "agent",
    "complaints/citizen": "agent",
    "complaints/category": "agent",
    "complaints/cannedresponse": "agent",
    "complaints/handovernote": "agent",
    "channels_ingest/channelaccount": "supervisor",
    "channels_ingest/delivery": "supervisor",
    "escalation/businesscalendar": "supervisor",
    "escalation/slapolicy": "supervisor",
    "escalation/escalationcontact": "supervisor",
    "escalation/escalation": "agent",
    "partners/servicearea": "agent",
    "partners/organisation": "agent",
    "partners/assignment": "agent",
    "partners/consultrequest": "agent",
    "webchat/conversation": "agent",
    "quality/sameanswerflag": "supervisor",
    "quality/review": "supervisor",
}
ADMIN_MODEL_PAGES = [
    "",
    "add/",
    "<path:object_id>/",
    "<path:object_id>/change/",
    "<path:object_id>/history/",
    "<path:object_id>/delete/",
]
ADMIN_APPS = "admin/^(?P<app_label>"


def classify(route: str) -> str | None:
    """The class of a route as `walk` spells it, or None if the inventory misses it."""
    if route in ROUTES:
        return ROUTES[route]
    if route.startswith("anymail/"):
        return "webhook"
    if route.startswith(ADMIN_APPS):
        return "agent"
    if route.startswith("admin/"):
        for model, kind in ADMIN_MODELS.items():
            for page in ADMIN_MODEL_PAGES:
                if route == f"admin/{model}/{page}":
                    return kind
        if route.startswith("admin/auth/user/") and route.endswith("/password/"):
            return "supervisor"
    return None
