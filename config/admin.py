"""The agents' admin site: Django's, with the dashboard as its index page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AduanAdminSite(admin.AdminSite):
    site_header = _("Aduan — agents")
    site_title = _("Aduan")
    index_title = _("Dashboard")
    index_template = "admin/aduan_dashboard.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff by role, not only by the flag: a demoted agent or a partner with the
        flag left on is not let in."""
        from complaints.roles import STAFF_ROLES, role_of

        return super().has_permission(request) and role_of(request.user) in STAFF_ROLES

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        from complaints import selectors  # apps are loaded by the time a page is asked for

        context = {"dashboard": selectors.dashboard(timezone.now()), **(extra_context or {})}
        return super().index(request, context)


class AduanAdminConfig(AdminConfig):
    default_site = "config.admin.AduanAdminSite"
