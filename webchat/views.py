"""The embeddable chat page: plain HTML and one script, nothing from elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors *; base-uri 'none'; form-action 'none'; "
    "object-src 'none'"
)


@xframe_options_exempt  # meant to be embedded in the institution's own sites
def chat_page(request: HttpRequest) -> HttpResponse:
    response = render(request, "webchat/chat.html")
    response["Content-Security-Policy"] = CSP
    return response
