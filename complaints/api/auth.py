"""`Authorization: Bearer <token>` for the REST API, and sign-in by email or phone."""

from __future__ import annotations

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication

from complaints.choices import Channel
from complaints.contacts import normalise_address
from complaints.models import Citizen


class BearerTokenAuthentication(TokenAuthentication):
    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "complaints.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Token from /api/v1/auth/token/"}


class LockedOut(Exception):
    """Too many failed sign-ins for this account from this address."""


def sign_in(request: HttpRequest, username: str, password: str) -> Any:
    """The user for these credentials, or None; raises LockedOut while locked out.

    Citizens sign in with their email or phone number (any common way of writing it);
    staff with their username. Failures count towards the lockout (django-axes).
    """
    username = _account_username(username.strip())
    credentials = {"username": username}
    if not AxesProxyHandler.is_allowed(request, credentials):
        raise LockedOut
    return authenticate(request=request, username=username, password=password)


def _account_username(login: str) -> str:
    for channel, field in ((Channel.EMAIL, "email"), (Channel.PHONE, "phone")):
        if channel == Channel.EMAIL and "@" not in login:
            continue
        try:
            key = normalise_address(channel, login)
        except ValidationError:
            continue
        citizen = Citizen.objects.filter(**{field: key}).select_related("user").first()
        if citizen and citizen.user:
            return str(citizen.user.get_username())
    return login
