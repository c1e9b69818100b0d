"""Reads: which tickets a user may see, lookups by number, transitions on offer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Count, DateTimeField, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Least, TruncDate
from django.utils import timezone
from django_fsm import Transition

from complaints.choices import Channel, Status
from complaints.models import HandoverNote, Message, Ticket, TicketEvent
from complaints.numbers import normalise_number
from complaints.roles import STAFF_ROLES, Role, citizen_id, partner_organisation_ids, role_of
from complaints.shifts import shift_at


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


def with_sla_due(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """`sla_due`: the next due time of an open ticket (its first response while none was
    made, its resolution), for the queue's order and badges; None when nothing runs."""
    first = Case(
        When(first_response_at__isnull=True, then=F("first_response_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )
    due = Least(
        Coalesce(first, F("resolution_due_at")),
        Coalesce(F("resolution_due_at"), first),
        output_field=DateTimeField(),
    )
    return tickets.annotate(
        sla_due=Case(
            When(status__in=Status.open_states(), then=due),
            default=Value(None),
            output_field=DateTimeField(),
        )
    )


AT_RISK = timedelta(minutes=60)  # before a due time: the ticket is at risk


def thread(ticket: Ticket) -> list[Message | TicketEvent]:
    """The whole conversation across channels in one thread, oldest first: messages
    (inbound, outbound with delivery status, internal notes) and events. Two queries."""
    messages = list(ticket.messages.select_related("author"))
    events = list(ticket.events.select_related("actor"))
    return sorted([*messages, *events], key=lambda item: (item.created_at, item.pk))


DUPLICATE_SUGGESTIONS = 8
MIN_WORD = 4  # shorter words ("obat", "yang") say little about what a complaint is about


def likely_duplicates(ticket: Ticket, user: Any) -> list[Ticket]:
    """Open (or resolved) tickets `ticket` may duplicate, for the merge form: the same
    citizen's first, then those whose subject shares its longer words (PostgreSQL full
    text through the `ticket_subject_search` index; elsewhere, a match on any of them);
    newest first. Two queries, each served by an index."""
    candidates = (
        tickets_visible_to(user)
        .filter(status__in=[*Status.open_states(), Status.RESOLVED])
        .exclude(pk=ticket.pk)
        .select_related("citizen")
        .order_by("-created_at")
    )
    found = list(candidates.filter(citizen_id=ticket.citizen_id)[:DUPLICATE_SUGGESTIONS])
    words = sorted({w for w in _words(ticket.subject) if len(w) >= MIN_WORD})
    room = DUPLICATE_SUGGESTIONS - len(found)
    if not words or room <= 0:
        return found
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        query = SearchQuery(" | ".join(words), config="simple", search_type="raw")
        vector = SearchVector("subject", config="simple")
        alike: QuerySet[Ticket] = candidates.alias(words=vector).filter(words=query)
    else:
        same_words = Q(pk__in=[])
        for word in words:
            same_words |= Q(subject__icontains=word)
        alike = candidates.filter(same_words)
    return found + list(alike.exclude(citizen_id=ticket.citizen_id)[:room])


def _words(text: str) -> list[str]:
    """Lower-case words of `text`, letters and digits only (safe in a raw tsquery)."""
    return ["".join(c for c in w if c.isalnum()) for w in text.lower().split()]


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


@dataclass(frozen=True)
class Handover:
    """What the handover page shows for the shift running at one moment."""

    start: datetime
    end: datetime
    notes_in: list[HandoverNote]  # from the previous shift, for this one
    notes_out: list[HandoverNote]  # written in this shift, for the next
    on_duty: list[Any]  # staff signed in since the shift began
    by_assignee: list[tuple[Any, list[Ticket]]]  # open tickets of each agent, most urgent first
    unassigned: int
    breached: int


def handover(at: datetime) -> Handover:
    """The team's open tickets and the notes between shifts, in a constant number of
    queries: the on-duty team are the staff who signed in since the shift began."""
    start, end = shift_at(at)
    notes = list(HandoverNote.objects.filter(shift_start__in=[start, end]).select_related("author"))
    staff = get_user_model().objects.filter(is_active=True, is_staff=True)
    on_duty = list(staff.filter(last_login__gte=start).order_by("username"))
    open_tickets = with_sla_due(Ticket.objects.filter(status__in=Status.open_states()))
    assigned = open_tickets.filter(assignee__isnull=False).select_related("assignee", "citizen")
    grouped: dict[int, tuple[Any, list[Ticket]]] = {}
    for ticket in assigned.order_by(F("sla_due").asc(nulls_last=True), "-created_at")[:500]:
        grouped.setdefault(ticket.assignee_id or 0, (ticket.assignee, []))[1].append(ticket)
    counts = open_tickets.aggregate(
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
        breached=Count("pk", filter=Q(sla_due__lt=at)),
    )
    return Handover(
        start=start,
        end=end,
        notes_in=[n for n in notes if n.shift_start == start],
        notes_out=[n for n in notes if n.shift_start == end],
        on_duty=on_duty,
        by_assignee=sorted(grouped.values(), key=lambda pair: pair[0].get_username()),
        unassigned=counts["unassigned"],
        breached=counts["breached"],
    )


DASHBOARD_DAYS = 14


def dashboard(at: datetime) -> dict[str, Any]:
    """The agents' overview at `at`, JSON-safe for the charts: open tickets by status and
    by channel, SLA at risk and breached, today's new tickets per channel, and new tickets
    per day over the last DASHBOARD_DAYS days. Five queries whatever the volume."""
    labels = dict(Status.choices)
    channels = dict(Channel.choices)
    open_tickets = Ticket.objects.filter(status__in=Status.open_states())
    by_status = dict(open_tickets.values_list("status").annotate(n=Count("pk")).order_by())
    by_channel = dict(open_tickets.values_list("channel").annotate(n=Count("pk")).order_by())
    sla = with_sla_due(open_tickets).aggregate(
        breached=Count("pk", filter=Q(sla_due__lt=at)),
        at_risk=Count("pk", filter=Q(sla_due__gte=at, sla_due__lt=at + AT_RISK)),
    )
    midnight = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    today = dict(
        Ticket.objects.filter(created_at__gte=midnight)
        .values_list("channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    first_day = midnight - timedelta(days=DASHBOARD_DAYS - 1)
    per_day = dict(
        Ticket.objects.filter(created_at__gte=first_day)
        .annotate(day=TruncDate("created_at", tzinfo=midnight.tzinfo))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    days = [(first_day + timedelta(days=d)).date() for d in range(DASHBOARD_DAYS)]
    return {
        "open_by_status": [
            {"label": str(labels[s]), "key": s, "value": by_status.get(s, 0)}
            for s in Status.open_states()
        ],
        "open_by_channel": [
            {"label": str(channels[c]), "key": c, "value": n}
            for c, n in sorted(by_channel.items(), key=lambda pair: -pair[1])
        ],
        "today_by_channel": [
            {"label": str(channels[c]), "key": c, "value": n}
            for c, n in sorted(today.items(), key=lambda pair: -pair[1])
        ],
        "per_day": [
            {"label": f"{d:%d %b}", "key": d.isoformat(), "value": per_day.get(d, 0)} for d in days
        ],
        "open": sum(by_status.values()),
        "breached": sla["breached"],
        "at_risk": sla["at_risk"],
        "today": sum(today.values()),
    }
