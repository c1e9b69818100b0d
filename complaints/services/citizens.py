"""Citizens and their channel identities."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from complaints.choices import Channel
from complaints.contacts import normalise_address
from complaints.models import ChannelIdentity, Citizen


def identify_citizen(*, channel: str, address: str, name: str = "") -> Citizen:
    """The citizen behind a sender address on a channel, created on first contact.

    A phone (WhatsApp) or email identity joins the citizen who already has that
    phone number or email, so one person keeps one history across channels.
    """
    key = normalise_address(channel, address)
    identity = ChannelIdentity.objects.select_related("citizen").filter(
        channel=channel, address=key
    )
    if found := identity.first():
        return found.citizen
    try:
        with transaction.atomic():
            citizen = _citizen_for(channel, key, name)
            ChannelIdentity.objects.create(
                citizen=citizen, channel=channel, address=key, display_name=name[:200]
            )
            return citizen
    except IntegrityError:  # a concurrent first message from the same sender won
        return identity.get().citizen


def _citizen_for(channel: str, key: str, name: str) -> Citizen:
    field = {Channel.WHATSAPP: "phone", Channel.PHONE: "phone", Channel.EMAIL: "email"}.get(
        Channel(channel)
    )
    if field is None:
        return Citizen.objects.create(name=name[:200])
    citizen, _created = Citizen.objects.get_or_create(**{field: key}, defaults={"name": name[:200]})
    return citizen


@transaction.atomic
def register_citizen(
    *, name: str, password: str, email: str | None = None, phone: str | None = None
) -> Citizen:
    """A citizen account for the mobile app, signed in by email or phone number.

    Refuses an email or phone already known: linking a channel history to an account
    needs a verified contact, which registration alone does not prove.
    """
    errors: dict[str, list[str]] = {}
    contacts = {"email": email.strip() if email else "", "phone": phone.strip() if phone else ""}
    if not any(contacts.values()):
        errors["email"] = [_("Give an email address or a phone number.")]
    normalised = {}
    for field, channel in (("email", Channel.EMAIL), ("phone", Channel.PHONE)):
        if not contacts[field]:
            continue
        try:
            normalised[field] = normalise_address(channel, contacts[field])
        except ValidationError as exc:
            errors[field] = exc.messages
            continue
        if Citizen.objects.filter(**{field: normalised[field]}).exists():
            errors[field] = [_("This is already registered. Sign in instead.")]
    username = normalised.get("email") or normalised.get("phone") or ""
    user = User(username=username, email=normalised.get("email", ""), first_name=name[:150])
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if username and "email" not in errors and User.objects.filter(username=username).exists():
        errors["email" if normalised.get("email") else "phone"] = [_("This is already registered.")]
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            return Citizen.objects.create(
                user=user,
                name=name.strip()[:200],
                email=normalised.get("email"),
                phone=normalised.get("phone"),
            )
    except IntegrityError as exc:  # the same person registering twice at once
        raise ValidationError({"email": [_("This is already registered.")]}) from exc


def api_token_for(user: User) -> str:
    """The user's API bearer token, created on first use."""
    token, _created = Token.objects.get_or_create(user=user)
    return str(token.key)
