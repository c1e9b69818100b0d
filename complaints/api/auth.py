"""`Authorization: Bearer <token>` for the REST API, and sign-in by email or phone."""

from __future__ import annotations

from functools import cache
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from complaints.choices import Channel
from complaints.contacts import normalise_address
from complaints.models import Citizen
from complaints.roles import remember_role, role_columns, role_parameters


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, reading the user's role in the same query."""

    keyword = "Bearer"

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user = _user_with_role_by_token(key)
        if user is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)


def _user_with_role_by_token(key: str) -> Any:
    found = list(get_user_model().objects.raw(_token_query(), role_parameters(key=key)))
    if not found:
        return None
    user = found[0]
    remember_role(user)
    return user


@cache
def _token_query() -> str:
    """The user of a token with their role flags. Columns are named, not `u.*`: a prepared
    statement must keep its result type when a migration adds a column."""
    fields = get_user_model()._meta.concrete_fields
    return token_user_query(", ".join(f"u.{field.column}" for field in fields))


def token_user_query(columns: str) -> str:
    """SELECT `columns` of the user `u` whose token is `%(key)s`, then the `role_columns`;
    bind `role_parameters(key=...)`."""
    users, tokens = get_user_model()._meta.db_table, Token._meta.db_table
    # Names from model metadata; the key and group names are bound parameters.
    return (
        f"SELECT {columns}, {role_columns('u.id')} "  # noqa: S608
        f"FROM {users} u JOIN {tokens} t ON t.user_id = u.id WHERE t.key = %(key)s"
    )


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
