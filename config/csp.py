"""Content-Security-Policy for the staff and partner sites (RELIABILITY T-i): scripts only
from this site's own files (no inline script, nothing from elsewhere), so text that slips
through as markup still cannot run; sockets only back to this site."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)


class StaffPagesPolicy:
    """Sets POLICY on every page under the admin and the partner site."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefixes = (f"/{settings.ADUAN_ADMIN_URL}", "/partner/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.prefixes):
            response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
