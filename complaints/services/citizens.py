"""Citizens and their channel identities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from complaints.choices import Channel
from complaints.contacts import normalise_address
from complaints.models import ChannelIdentity, Citizen
from complaints.selectors import pairs


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote: an address on a channel, and the name they go by there."""

    channel: str
    address: str
    name: str = ""


def identify_citizen(*, channel: str, address: str, name: str = "") -> Citizen:
    """The citizen behind a sender address on a channel, created on first contact.

    A phone (WhatsApp) or email identity joins the citizen who already has that
    phone number or email, so one person keeps one history across channels.
    """
    return identify_citizens([Sender(channel, address, name)])[0]


def identify_citizens(senders: Sequence[Sender]) -> list[Citizen]:
    """`identify_citizen` for each sender, in their order, with a few queries whatever
    their number: one to find the identities, and for the new ones one to find citizens
    by phone or email and one INSERT each for citizens and identities."""
    keys = [(s.channel, normalise_address(s.channel, s.address)) for s in senders]
    names = {key: sender.name[:200] for key, sender in zip(keys, senders, strict=True)}
    for attempt in range(2):
        known = _citizens_by_identity(list(names))
        missing = {key: name for key, name in names.items() if key not in known}
        if not missing:
            break
        try:
            with transaction.atomic():
                known |= _create_identities(missing)
            break
        except IntegrityError:  # a concurrent first message from the same sender won
            if attempt:
                raise
    return [known[key] for key in keys]


def _citizens_by_identity(keys: list[tuple[str, str]]) -> dict[tuple[str, str], Citizen]:
    identities = ChannelIdentity.objects.select_related("citizen").filter(
        pairs("channel", "address", keys)
    )
    return {(i.channel, i.address): i.citizen for i in identities}


def _create_identities(missing: dict[tuple[str, str], str]) -> dict[tuple[str, str], Citizen]:
    """Identities for `missing` (key: display name), joining the citizens who already
    have that phone or email, creating the others (one per phone or email)."""
    by_contact: dict[tuple[str, str], list[tuple[str, str]]] = {}
    citizens: dict[tuple[str, str], Citizen] = {}
    for key, name in missing.items():
        if field := _CONTACT_FIELDS.get(Channel(key[0])):
            by_contact.setdefault((field, key[1]), []).append(key)
        else:
            citizens[key] = Citizen(name=name)
    found: dict[tuple[str, str | None], Citizen] = {}
    contacts = {field: [v for f, v in by_contact if f == field] for field in ("phone", "email")}
    for citizen in Citizen.objects.filter(
        Q(phone__in=contacts["phone"]) | Q(email__in=contacts["email"])
    ):
        found |= {("phone", citizen.phone): citizen, ("email", citizen.email): citizen}
    for (field, value), keys in by_contact.items():
        citizen = found.get((field, value)) or Citizen(name=missing[keys[0]], **{field: value})
        citizens |= dict.fromkeys(keys, citizen)
    Citizen.objects.bulk_create({id(c): c for c in citizens.values() if c.pk is None}.values())
    ChannelIdentity.objects.bulk_create(
        ChannelIdentity(citizen=citizens[key], channel=key[0], address=key[1], display_name=name)
        for key, name in missing.items()
    )
    return citizens


_CONTACT_FIELDS = {Channel.WHATSAPP: "phone", Channel.PHONE: "phone", Channel.EMAIL: "email"}


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
