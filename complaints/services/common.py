"""Internals shared by the service modules: locking, events, live pushes."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from complaints import live
from complaints.choices import Priority
from complaints.exceptions import StaleTicket
from complaints.models import Ticket, TicketEvent
from complaints.roles import role_of

QUEUE_GROUP = "queue-agents"


def parse_priority(value: str) -> Priority:
    try:
        return Priority(value)
    except ValueError as exc:
        raise ValidationError(
            {"priority": _("Unknown priority: %(value)s") % {"value": value}}
        ) from exc


def lock_ticket(ticket: Ticket, expected_version: int | None) -> Ticket:
    """The ticket's row, locked for this transaction, at the version the caller saw."""
    locked: Ticket = (
        Ticket.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=ticket.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleTicket(expected=expected_version, actual=locked.version)
    return locked


def record_event(ticket: Ticket, kind: str, *, by: Any, **details: Any) -> TicketEvent:
    """Stores what happened to `ticket`; `details` as `new_event` takes them."""
    event = new_event(ticket, kind, by=by, **details)
    event.save(force_insert=True)
    return event


def new_event(
    ticket: Ticket,
    kind: str,
    *,
    by: Any,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """The event `record_event` stores, not yet stored (for a batch insert)."""
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=by,
        actor_role=role_of(by),
        public_reason=reason.strip(),
        internal_note=note.strip(),
        data=data or {},
    )


def broadcast(
    ticket: Ticket, kind: str, *, watched: bool = True, queue: bool = True, **extra: Any
) -> None:
    """A thin live event (ids only) after commit, to the agents' `queue` and, when it may
    be `watched`, the ticket's group. (No one can be watching a ticket opened in this very
    transaction: a send to its group would cost Redis round trips for nothing.)"""
    event = {
        "type": kind,
        "ticket": ticket.pk,
        "number": ticket.number,
        "status": ticket.status,
        "version": ticket.version,
        **extra,
    }
    groups = ((QUEUE_GROUP,) if queue else ()) + ((f"ticket-{ticket.pk}",) if watched else ())
    transaction.on_commit(partial(live.publish, groups, event))
