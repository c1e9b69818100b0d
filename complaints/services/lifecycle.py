"""Moving tickets along their lifecycle; assignment and details, version-checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from complaints.choices import EventKind, Status
from complaints.models import Category, Ticket
from complaints.roles import STAFF_ROLES, Role, role_of
from complaints.selectors import transition_names
from complaints.services.common import broadcast, lock_ticket, parse_priority, record_event


@transaction.atomic
def transition_ticket(
    *,
    ticket: Ticket,
    transition: str,
    by: Any,
    reason: str = "",
    note: str = "",
    expected_version: int | None = None,
    partner: Any = None,
    into: Ticket | None = None,
    summary: str = "",
) -> Ticket:
    """Moves the ticket along its lifecycle and records who, why and when.

    Raises TransitionNotAllowed (not from this state), StaleTicket (changed since
    `expected_version`), PermissionDenied (not this actor's) or ValidationError
    (a required reason or argument missing).
    """
    if transition not in transition_names():
        raise ValidationError(
            {"transition": _("Unknown transition: %(name)s") % {"name": transition}}
        )
    ticket = lock_ticket(ticket, expected_version)
    method = getattr(ticket, transition)
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"'{transition}' is not allowed from '{ticket.status}'", object=ticket, method=method
        )
    if not has_transition_perm(method, by):
        raise PermissionDenied(_("You may not %(name)s this ticket.") % {"name": transition})
    custom = method._django_fsm.get_transition(ticket.status).custom
    if custom["reason_required"] and not reason.strip():
        raise ValidationError({"reason": _("A reason the citizen can read is required.")})
    kwargs, data = _transition_arguments(
        ticket, custom.get("needs"), partner, into, summary or reason
    )
    from_status = ticket.status
    method(**kwargs)
    ticket.version += 1
    ticket.save()
    from escalation import services as sla  # the escalation app depends on this one
    from partners import services as partners  # the partners app depends on this one

    now = timezone.now()
    sla.clocks_follow(ticket, from_status, ticket.status, now)
    partners.assignments_follow(ticket, transition, from_status, by, reason, now)
    record_event(
        ticket,
        custom["event"],
        by=by,
        from_status=from_status,
        to_status=ticket.status,
        reason=reason,
        note=note,
        data=data,
    )
    if ticket.status == Status.RESOLVED:
        from quality import services as quality  # the quality app depends on this one

        quality.ask_for_rating(ticket)
    broadcast(ticket, "ticket.updated")
    return ticket


def _transition_arguments(
    ticket: Ticket, needs: str | None, partner: Any, into: Ticket | None, summary: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checks what a transition needs and returns its arguments and the event's data."""
    if needs == "partner":
        if partner is None or not partner.is_active:
            raise ValidationError({"partner": _("Choose an active partner organisation.")})
        return {"partner_id": partner.pk}, {"partner": partner.slug}
    if needs == "into":
        if into is None or into.pk == ticket.pk:
            raise ValidationError({"into": _("Choose another ticket to merge into.")})
        if into.status not in Status.open_states():
            raise ValidationError({"into": _("Tickets can only be merged into an open ticket.")})
        return {"into_id": into.pk}, {"into": into.number}
    if needs == "summary":
        return {"summary": summary}, {}
    return {}, {}


@transaction.atomic
def assign_ticket(
    *, ticket: Ticket, assignee: Any, by: Any, expected_version: int | None = None
) -> Ticket:
    """Gives the ticket to an agent (or to nobody). Only staff assign, only to staff."""
    if role_of(by) not in STAFF_ROLES and role_of(by) is not Role.SYSTEM:
        raise PermissionDenied(_("Only agents and supervisors assign tickets."))
    if assignee is not None and role_of(assignee) not in STAFF_ROLES:
        raise ValidationError({"assignee": _("Tickets can only be assigned to agents.")})
    ticket = lock_ticket(ticket, expected_version)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee.get_username() if ticket.assignee else None
    ticket.assignee = assignee
    ticket.version += 1
    ticket.save(update_fields=["assignee", "version", "updated_at"])
    new = assignee.get_username() if assignee else None
    record_event(ticket, EventKind.ASSIGNED, by=by, data={"from": previous, "to": new})
    broadcast(ticket, "ticket.updated")
    return ticket


@transaction.atomic
def change_ticket_details(
    *,
    ticket: Ticket,
    by: Any,
    expected_version: int | None = None,
    subject: str | None = None,
    category: Category | None = None,
    priority: str | None = None,
) -> Ticket:
    """Changes subject, category or priority; the event lists what changed."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only agents and supervisors change ticket details."))
    ticket = lock_ticket(ticket, expected_version)
    wanted = {
        "subject": subject,
        "category": category,
        "priority": parse_priority(priority) if priority is not None else None,
    }
    changes: dict[str, list[Any]] = {}
    for field, value in wanted.items():
        if value is None or getattr(ticket, field) == value:
            continue
        changes[field] = [str(getattr(ticket, field)), str(value)]
        setattr(ticket, field, value)
    if not changes:
        return ticket
    if not ticket.subject.strip():
        raise ValidationError({"subject": _("The subject cannot be empty.")})
    ticket.version += 1
    ticket.save(update_fields=[*changes, "version", "updated_at"])
    record_event(ticket, EventKind.DETAILS_CHANGED, by=by, data=changes)
    if "category" in changes or "priority" in changes:
        from escalation import services as sla  # the escalation app depends on this one

        sla.replan(ticket, timezone.now())
    broadcast(ticket, "ticket.updated")
    return ticket


def close_resolved_tickets(*, now: datetime, after: timedelta) -> int:
    """Closes tickets resolved longer than `after` ago that nobody reopened; returns how many."""
    due = Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lte=now - after)
    closed = 0
    for pk in due.values_list("pk", flat=True).iterator():
        try:
            transition_ticket(
                ticket=Ticket(pk=pk),
                transition="close",
                by=None,
                note=_("Closed automatically: no reopen after resolution."),
            )
        except TransitionNotAllowed:  # reopened or closed meanwhile
            continue
        closed += 1
    return closed
