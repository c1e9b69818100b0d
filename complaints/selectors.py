"""Reads: which tickets a user may see, lookups by number, transitions on offer."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.db.models import Q, QuerySet
from django_fsm import Transition

from complaints.models import Message, Ticket
from complaints.numbers import normalise_number
from complaints.roles import STAFF_ROLES, Role, citizen_id, partner_organisation_ids, role_of


def tickets_visible_to(user: Any) -> QuerySet[Ticket]:
    """The one scoping rule: staff see all, partners their organisations', citizens their own.

    Deny by default: any other user sees nothing. `None` is the product itself.
    """
    role = role_of(user)
    tickets: QuerySet[Ticket] = Ticket.objects.all()
    if role is Role.PARTNER:
        tickets = tickets.filter(partner_id__in=partner_organisation_ids(user))
    elif role is Role.CITIZEN:  # by id, so the (citizen, created_at) index serves the list
        tickets = tickets.filter(citizen_id=citizen_id(user) or 0)
    elif role not in STAFF_ROLES and role is not Role.SYSTEM:
        tickets = tickets.none()
    return tickets


def ticket_by_number(number: str, *, user: Any) -> Ticket | None:
    """The ticket with this number if `user` may see it; tolerant of case and I/L/O."""
    canonical = normalise_number(number)
    if canonical is None:
        return None
    return tickets_visible_to(user).filter(number=canonical).first()


def available_transitions(ticket: Ticket, user: Any) -> list[Transition]:
    """Transitions `user` may run on the ticket from its current state."""
    return list(ticket.get_available_user_status_transitions(user))  # type: ignore[attr-defined]


@cache
def transition_labels() -> dict[str, str]:
    """Every lifecycle transition's name and the label people see for it."""
    field = Ticket._meta.get_field("status")
    return {t.name: str(t.custom["label"]) for t in field.get_all_transitions(Ticket)}


def transition_names() -> frozenset[str]:
    """Names of every lifecycle transition."""
    return frozenset(transition_labels())


def pairs(first: str, second: str, values: Iterable[tuple[str, str]]) -> Q:
    """Rows whose (`first`, `second`) is one of `values`, as one IN list per `first` value:
    an OR of a hundred pairs costs Django and PostgreSQL several times more."""
    grouped: dict[str, set[str]] = {}
    for a, b in values:
        grouped.setdefault(a, set()).add(b)
    wanted = Q(pk__in=[])
    for a, bs in grouped.items():
        wanted |= Q(**{first: a, f"{second}__in": sorted(bs)})
    return wanted


def messages_by_external_id(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Message]:
    """The messages stored under these (channel, channel message id), with their tickets."""
    wanted = pairs("channel", "external_id", ((c, e) for c, e in keys if e))
    found = Message.objects.select_related("ticket").filter(wanted)
    return {(m.channel, m.external_id): m for m in found}


def message_by_external_id(channel: str, external_id: str) -> Message | None:
    """The message stored under a channel's message id, with its ticket."""
    return messages_by_external_id([(channel, external_id)]).get((channel, external_id))
