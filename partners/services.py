"""Partner work on the service layer: whether a partner is open, dispatch (with a warning
when it is closed and open alternatives of the same kind and area), and the partner's own
actions (accept, update, mark done, return). The admin, the partner site and the partner
API all call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from complaints import services as complaints
from complaints.choices import AuthorKind, EventKind, Status
from complaints.models import Message, Ticket
from complaints.roles import STAFF_ROLES, Role, partner_organisation_ids, role_of
from complaints.services.common import broadcast, lock_ticket, record_event
from escalation import services as sla
from escalation.businesstime import NeverOpen
from escalation.models import Closure
from partners.models import (
    Assignment,
    ConsultRequest,
    ConsultState,
    Organisation,
    Outcome,
)

# How far ahead dispatch looks for a closure when the ticket's policy names no window.
DEFAULT_LOOKAHEAD = timedelta(hours=24)


class PartnerClosed(Exception):
    """Dispatch to a partner that is closed now or for the coming window, not confirmed."""

    def __init__(self, check: DispatchCheck) -> None:
        super().__init__(check.warning)
        self.check = check


@dataclass(frozen=True)
class Availability:
    """Whether a partner is open at a moment; if not, until when and why (citizens may
    read the reason)."""

    is_open: bool
    closed_until: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class DispatchCheck:
    """What an agent is told before dispatching: the partner's availability now, a
    closure that starts within the window, and open partners to choose instead."""

    organisation: Organisation
    now: Availability
    closing: Closure | None = None
    alternatives: list[Organisation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.now.is_open and self.closing is None

    @property
    def warning(self) -> str:
        if not self.now.is_open:
            return closed_text(self.organisation, self.now)
        if self.closing is not None:
            return _("%(name)s closes at %(start)s until %(end)s: %(reason)s") % {
                "name": self.organisation.name,
                "start": _when(self.closing.starts_at),
                "end": _when(self.closing.ends_at),
                "reason": self.closing.reason,
            }
        return ""


def _when(at: datetime) -> str:
    return date_format(timezone.localtime(at), "j M Y H:i")


def closed_text(organisation: Organisation, availability: Availability) -> str:
    """ "<name> is closed until <when> (<why>)", for agents and citizens."""
    if availability.closed_until is None:
        return _("%(name)s is closed (%(reason)s).") % {
            "name": organisation.name,
            "reason": availability.reason,
        }
    return _("%(name)s is closed until %(until)s (%(reason)s).") % {
        "name": organisation.name,
        "until": _when(availability.closed_until),
        "reason": availability.reason,
    }


def availability(organisation: Organisation, at: datetime | None = None) -> Availability:
    """Open or closed at `at` by the organisation's calendar (none: always open)."""
    at = at or timezone.now()
    calendar = organisation.calendar
    if calendar is None:
        return Availability(True)
    schedule = sla.schedule_for(calendar)
    if schedule.is_open(at):
        return Availability(True)
    try:
        reopens: datetime | None = schedule.next_opening(at)
    except NeverOpen:
        reopens = None
    closure = calendar.closures.filter(starts_at__lte=at, ends_at__gt=at).first()
    if closure is not None:
        reason = closure.reason
    elif schedule.is_holiday(timezone.localtime(at, schedule.zone).date()):
        reason = _holiday_name(calendar, timezone.localtime(at, schedule.zone).date())
    else:
        reason = _("outside opening hours")
    return Availability(False, reopens, reason)


def _holiday_name(calendar: Any, day: Any) -> str:
    own = calendar.holidays.filter(date=day).first()
    if own is not None:
        return str(own.name)
    import holidays

    if calendar.country:
        named = holidays.country_holidays(calendar.country, categories=("public", "government"))
        if day in named:
            return str(named.get(day))
    return _("public holiday")


def check_dispatch(
    ticket: Ticket, organisation: Organisation, at: datetime | None = None
) -> DispatchCheck:
    """What the agent must know before sending `ticket` to `organisation`."""
    at = at or timezone.now()
    now = availability(organisation, at)
    closing = None
    if organisation.calendar_id is not None:
        policy = sla.policy_for(ticket.category_id, ticket.priority)
        ahead = timedelta(minutes=policy.partner_update_minutes) if policy else DEFAULT_LOOKAHEAD
        closing = (
            Closure.objects.filter(
                calendar_id=organisation.calendar_id, starts_at__gt=at, starts_at__lt=at + ahead
            )
            .order_by("starts_at")
            .first()
        )
    check = DispatchCheck(organisation, now, closing)
    if check.ok:
        return check
    return DispatchCheck(organisation, now, closing, alternatives(organisation, at))


def alternatives(organisation: Organisation, at: datetime, limit: int = 5) -> list[Organisation]:
    """Active partners of the same kind serving one of its areas (any area if it names
    none) that are open at `at`."""
    others = (
        Organisation.objects.filter(is_active=True, kind=organisation.kind)
        .exclude(pk=organisation.pk)
        .select_related("calendar")
    )
    areas = list(organisation.service_areas.values_list("pk", flat=True))
    if areas:
        others = others.filter(service_areas__in=areas).distinct()
    found = []
    for other in others.order_by("name")[: limit * 4]:
        if availability(other, at).is_open:
            found.append(other)
        if len(found) == limit:
            break
    return found


@transaction.atomic
def dispatch(
    *,
    ticket: Ticket,
    organisation: Organisation,
    by: Any,
    reason: str,
    note: str = "",
    despite_closure: bool = False,
    expected_version: int | None = None,
) -> Ticket:
    """Sends the ticket to a partner (from another partner: taken back first, both in the
    history). Raises PartnerClosed if the partner is closed now or closes within the
    window, unless the agent chose to send it anyway (`despite_closure`); the citizen's
    timeline then says until when and why."""
    ticket = lock_ticket(ticket, expected_version)
    check = check_dispatch(ticket, organisation)
    if not check.ok and not despite_closure:
        raise PartnerClosed(check)
    expected_version = ticket.version
    if ticket.status == Status.WITH_PARTNER:
        if ticket.partner_id == organisation.pk:
            raise ValidationError({"partner": _("It is with this partner already.")})
        ticket = complaints.transition_ticket(
            ticket=ticket,
            transition="take_back",
            by=by,
            reason=_("Dialihkan ke %(name)s.") % {"name": organisation.name},
            expected_version=expected_version,
        )
        expected_version = None
    citizen_reason = reason.strip()
    if reason.strip() and not check.now.is_open:
        citizen_reason = f"{reason.strip()} {closed_text(organisation, check.now)}"
    return complaints.transition_ticket(
        ticket=ticket,
        transition="dispatch",
        by=by,
        reason=citizen_reason,
        note=note,
        partner=organisation,
        expected_version=expected_version,
    )


def assignments_follow(
    ticket: Ticket, transition: str, from_status: str, by: Any, reason: str, at: datetime
) -> None:
    """Keeps the partner assignments in step with a transition (called in its
    transaction): entering `with_partner` starts one, leaving it ends the current one."""
    if from_status == Status.WITH_PARTNER:
        if transition == "partner_done":
            outcome = Outcome.DONE
        elif transition == "take_back":
            outcome = Outcome.RETURNED if role_of(by) is Role.PARTNER else Outcome.TAKEN_BACK
        else:
            outcome = Outcome.CLOSED
        Assignment.objects.filter(ticket=ticket, ended_at__isnull=True).update(
            ended_at=at, outcome=outcome, summary=reason
        )
    if ticket.status not in Status.open_states():  # nobody waits on a body any more
        ConsultRequest.objects.filter(ticket=ticket, state=ConsultState.OPEN).update(
            state=ConsultState.WITHDRAWN, closed_at=at
        )
    entered = ticket.status == Status.WITH_PARTNER and from_status != Status.WITH_PARTNER
    if entered and ticket.partner_id is not None:
        stay = Assignment.objects.create(
            ticket=ticket,
            organisation_id=ticket.partner_id,
            reason=reason,
            dispatched_by=by if getattr(by, "pk", None) else None,
            dispatched_at=at,
        )
        _tell("assignment", stay.pk)


def _on_timeline(ticket: Ticket, kind: str, *, by: Any, reason: str, **details: Any) -> None:
    """An event that changes no state (the citizen reads `reason`), pushed to the agents."""
    record_event(
        ticket,
        kind,
        by=by,
        from_status=ticket.status,
        to_status=ticket.status,
        reason=reason,
        **details,
    )
    broadcast(ticket, "ticket.updated")


# --- The partner's actions ------------------------------------------------------------


def _current(ticket: Ticket, by: Any) -> Assignment:
    """The ticket's current assignment if it is with one of `by`'s organisations; else
    PermissionDenied (views turn it into 404: nothing said about others' tickets)."""
    if role_of(by) is not Role.PARTNER:
        raise PermissionDenied(_("Only partner staff act for a partner."))
    assignment = (
        Assignment.objects.select_related("organisation")
        .filter(ticket=ticket, ended_at__isnull=True)
        .first()
    )
    if assignment is None or assignment.organisation_id not in partner_organisation_ids(by):
        raise PermissionDenied(_("This ticket is not with your organisation."))
    return assignment


@transaction.atomic
def accept(*, ticket: Ticket, by: Any) -> Assignment:
    """The partner takes the job on (once; accepting again changes nothing)."""
    ticket = lock_ticket(ticket, None)
    assignment = _current(ticket, by)
    if assignment.accepted_at is not None:
        return assignment
    assignment.accepted_at, assignment.accepted_by = timezone.now(), by
    assignment.save(update_fields=["accepted_at", "accepted_by"])
    sla.partner_updated(ticket, assignment.accepted_at)
    _on_timeline(
        ticket,
        EventKind.PARTNER_ACCEPTED,
        by=by,
        reason=_("%(name)s sedang menangani aduan Anda.") % {"name": assignment.organisation.name},
        data={"partner": assignment.organisation.slug},
    )
    return assignment


@transaction.atomic
def post_update(*, ticket: Ticket, by: Any, body: str, internal: bool = False) -> Message:
    """An update from the partner: to the citizen on their channel, or an internal note
    for the agents. Either one restarts the partner's update window."""
    ticket = lock_ticket(ticket, None)
    assignment = _current(ticket, by)
    message = complaints.post_message(
        ticket=ticket, body=body, author_kind=AuthorKind.PARTNER, by=by, is_internal=internal
    )
    Assignment.objects.filter(pk=assignment.pk).update(
        updates=F("updates") + 1, last_update_at=message.created_at
    )
    if assignment.accepted_at is None:
        Assignment.objects.filter(pk=assignment.pk).update(
            accepted_at=message.created_at, accepted_by=by
        )
    sla.partner_updated(ticket, message.created_at)
    return message


@transaction.atomic
def mark_done(*, ticket: Ticket, by: Any, summary: str) -> Ticket:
    """The partner's part is done: back to the agents with a summary the citizen reads."""
    _current(ticket, by)
    if not summary.strip():
        raise ValidationError({"summary": _("Say what was done.")})
    return complaints.transition_ticket(
        ticket=ticket, transition="partner_done", by=by, reason=summary
    )


@transaction.atomic
def return_ticket(*, ticket: Ticket, by: Any, reason: str) -> Ticket:
    """The partner cannot do it: back to the agents, with a reason."""
    _current(ticket, by)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why it comes back.")})
    return complaints.transition_ticket(ticket=ticket, transition="take_back", by=by, reason=reason)


# --- What partners see ----------------------------------------------------------------


def tickets_of(by: Any) -> QuerySet[Ticket]:
    """Tickets `by`'s organisations hold now or held before (the partner site and API
    list; past ones read-only)."""
    tickets: QuerySet[Ticket] = Ticket.objects.all()
    if role_of(by) is not Role.PARTNER:
        return tickets.none()
    organisations = partner_organisation_ids(by)
    held = Assignment.objects.filter(organisation_id__in=organisations).values("ticket_id")
    return tickets.filter(pk__in=held)


def is_current(ticket: Ticket, by: Any) -> bool:
    """Whether `by`'s organisation holds the ticket now (it may act on it)."""
    return (
        role_of(by) is Role.PARTNER
        and ticket.status == Status.WITH_PARTNER
        and ticket.partner_id in partner_organisation_ids(by)
    )


def visible_messages(ticket: Ticket, until: datetime | None = None) -> QuerySet[Message]:
    """What a partner reads of the conversation: public messages and partners' own
    updates, never the agents' internal notes; of a ticket it no longer holds, only what
    was said `until` it left (nothing of what came after)."""
    messages = ticket.messages.filter(is_internal=False) | ticket.messages.filter(
        is_internal=True, author_kind=AuthorKind.PARTNER
    )
    if until is not None:
        messages = messages.filter(created_at__lte=until)
    return messages.order_by("created_at", "pk")


def mask_phone(phone: str) -> str:
    """+628123456789 → +62812*****789."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


def mask_email(email: str) -> str:
    """budi.santoso@example.id → b***@example.id."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


# --- Consult requests -------------------------------------------------------------------


class ConsultClosed(Exception):
    """The consult request is answered or withdrawn already (a 409)."""


DEFAULT_CONSULT_MINUTES = 24 * 60


@transaction.atomic
def ask(
    *,
    ticket: Ticket,
    organisation: Organisation,
    by: Any,
    question: str,
    excerpt: str = "",
    minutes: int | None = None,
) -> ConsultRequest:
    """An agent asks another department or body a scoped question about the ticket,
    sharing only `excerpt`, with `minutes` of the body's business time to answer. The
    citizen's timeline says the ticket waits on the body, and since when."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only agents ask for consults."))
    if not organisation.is_active:
        raise ValidationError({"organisation": _("Choose an active organisation.")})
    if not question.strip():
        raise ValidationError({"question": _("Say what you need to know.")})
    if minutes is not None and minutes < 1:
        raise ValidationError({"minutes": _("Give the body at least a minute.")})
    ticket = lock_ticket(ticket, None)
    if ticket.status not in Status.open_states():
        raise ValidationError({"ticket": _("Consults are for open tickets.")})
    if minutes is None:
        policy = sla.policy_for(ticket.category_id, ticket.priority)
        minutes = policy.partner_update_minutes if policy else DEFAULT_CONSULT_MINUTES
    at = timezone.now()
    count = ConsultRequest.objects.filter(ticket=ticket).count()
    clock = sla.start_consult_clock(ticket, organisation, minutes, at, round_=count)
    consult = ConsultRequest.objects.create(
        ticket=ticket,
        organisation=organisation,
        question=question.strip(),
        excerpt=excerpt.strip(),
        asked_by=by,
        asked_at=at,
        due_at=clock.due_at if clock else at + timedelta(minutes=minutes),
        clock=clock,
    )
    _on_timeline(
        ticket,
        EventKind.CONSULT_OPENED,
        by=by,
        reason=_("Menunggu %(body)s sejak %(since)s.")
        % {"body": organisation.name, "since": _when(at)},
        data={"consult": consult.pk, "organisation": organisation.slug},
    )
    _tell("consult", consult.pk)
    return consult


def _open_consult(consult: ConsultRequest) -> ConsultRequest:
    locked = (
        ConsultRequest.objects.select_for_update().select_related("organisation").get(pk=consult.pk)
    )
    if locked.state != ConsultState.OPEN:
        raise ConsultClosed(_("This consult request is closed already."))
    return locked


@transaction.atomic
def answer_consult(*, consult: ConsultRequest, by: Any, text: str) -> ConsultRequest:
    """The consulted body answers (on the partner site or API); the agents read it on
    the ticket, the citizen only that the answer came."""
    if role_of(by) is not Role.PARTNER or (
        consult.organisation_id not in partner_organisation_ids(by)
    ):
        raise PermissionDenied(_("This consult request is not for your organisation."))
    if not text.strip():
        raise ValidationError({"answer": _("Write the answer.")})
    consult = _open_consult(consult)
    at = timezone.now()
    consult.answer, consult.answered_by, consult.answered_at = text.strip(), by, at
    consult.state, consult.closed_at = ConsultState.ANSWERED, at
    consult.save(update_fields=["answer", "answered_by", "answered_at", "state", "closed_at"])
    sla.stop_clock(consult.clock_id, at)
    ticket = Ticket.objects.get(pk=consult.ticket_id)
    _on_timeline(
        ticket,
        EventKind.CONSULT_ANSWERED,
        by=by,
        reason=_("%(body)s sudah menjawab.") % {"body": consult.organisation.name},
        note=consult.answer,
        data={"consult": consult.pk, "organisation": consult.organisation.slug},
    )
    _tell("consult", consult.pk)
    return consult


@transaction.atomic
def withdraw_consult(*, consult: ConsultRequest, by: Any) -> ConsultRequest:
    """An agent no longer needs the answer."""
    if role_of(by) not in STAFF_ROLES and by is not None:
        raise PermissionDenied(_("Only agents withdraw consults."))
    consult = _open_consult(consult)
    at = timezone.now()
    consult.state, consult.closed_at = ConsultState.WITHDRAWN, at
    consult.save(update_fields=["state", "closed_at"])
    sla.stop_clock(consult.clock_id, at)
    return consult


def consults_of(by: Any) -> QuerySet[ConsultRequest]:
    """Consult requests addressed to `by`'s organisations (and nothing of their tickets)."""
    consults: QuerySet[ConsultRequest] = ConsultRequest.objects.all()
    if role_of(by) is not Role.PARTNER:
        return consults.none()
    return consults.filter(organisation_id__in=partner_organisation_ids(by))


# --- Telling the partner ---------------------------------------------------------------


def _tell(kind: str, pk: int) -> None:
    from partners.tasks import send_partner_notice

    transaction.on_commit(partial(send_partner_notice.delay, kind, pk))


def _addresses(organisation: Organisation) -> list[str]:
    """The organisation's own address, else its active members'."""
    if organisation.email:
        return [organisation.email]
    members = organisation.memberships.filter(is_active=True, user__is_active=True)
    return sorted({m.user.email for m in members.select_related("user") if m.user.email})


def send_partner_notice(kind: str, pk: int) -> int:
    """Emails an organisation that work came in: a ticket dispatched to it (`assignment`)
    or a question for it (`consult`: the question and the deadline, nothing of the
    ticket). Returns the emails sent; raises what the mail server raised (retried)."""
    if kind == "assignment":
        stay = Assignment.objects.select_related("organisation", "ticket").filter(pk=pk).first()
        if stay is None or stay.ended_at is not None:
            return 0
        organisation = stay.organisation
        subject = _("[%(number)s] Tiket baru untuk %(name)s") % {
            "number": stay.ticket.number,
            "name": organisation.name,
        }
        body = _("%(reason)s\n\nBuka: /partner/complaints/ticket/%(pk)s/change/") % {
            "reason": stay.reason,
            "pk": stay.ticket_id,
        }
    else:
        consult = ConsultRequest.objects.select_related("organisation").filter(pk=pk).first()
        if consult is None or consult.state != ConsultState.OPEN:
            return 0
        organisation = consult.organisation
        subject = _("Permintaan konsultasi untuk %(name)s") % {"name": organisation.name}
        due = _when(consult.due_at) if consult.due_at else "-"
        body = _(
            "%(question)s\n\nBatas waktu: %(due)s\n"
            "Buka: /partner/partners/consultrequest/%(pk)s/change/"
        ) % {
            "question": consult.question,
            "due": due,
            "pk": consult.pk,
        }
    to = _addresses(organisation)
    if not to:
        return 0
    return EmailMessage(subject=subject, body=body, to=to).send()
