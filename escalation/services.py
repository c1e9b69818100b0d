"""SLA clocks and escalation (SPEC "Clocks"): the service layer.

Clocks start with the ticket, in the transaction that opens it; transitions pause, resume,
restart and stop them in the transaction that makes the transition (complaints' service
layer calls in here); the sweep moves them on: a warning before the breach, escalation
level 1 at the breach, levels 2 and 3 after the policy's delays. Each (clock, level)
escalation is a row under a unique constraint, and the sweep claims clocks with
SKIP LOCKED, so several sweepers, or a sweeper killed halfway, never escalate twice and
never miss one. The sweep reads only clocks whose `next_check_at` has come, through a
partial index: its cost follows what is due, not what is open.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.choices import EventKind, Priority, Status
from complaints.models import Ticket, TicketEvent
from complaints.roles import STAFF_ROLES, role_of
from complaints.rows import save_fields
from escalation.businesstime import NeverOpen, Schedule, merged, parse_weekly
from escalation.models import (
    BusinessCalendar,
    Clock,
    ClockKind,
    Escalation,
    EscalationContact,
    SLAPolicy,
)

logger = logging.getLogger(__name__)

MAX_LEVEL = 3
DEFAULT_DELAYS = {1: 0, 2: 60, 3: 240}  # business minutes after the breach
STOPPING = (Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.MERGED)
SWEEP_FIELDS = ["warned_at", "breached_at", "level", "next_check_at"]

# --- Calendars and policies, kept for ADUAN_SLA_CACHE_SECONDS -----------------------------

_schedules: dict[int, tuple[float, Schedule]] = {}
_policies: tuple[float, dict[tuple[int | None, str], SLAPolicy]] = (0.0, {})


def forget_calendars() -> None:
    """Drops what this process remembers of calendars and policies (an admin edit)."""
    global _policies
    _schedules.clear()
    _policies = (0.0, {})


def schedule_for(calendar: BusinessCalendar) -> Schedule:
    """The calendar as the clocks read it: opening hours, holidays (the `holidays`
    package's for its country, collective leave if chosen, and its own), closures."""
    cached = _schedules.get(calendar.pk)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    own = set(calendar.holidays.values_list("date", flat=True))
    categories = ("public", "government") if calendar.collective_leave else ("public",)
    country = (
        holidays.country_holidays(calendar.country, categories=categories)
        if calendar.country
        else None
    )

    def is_holiday(day: Any) -> bool:
        return day in own or (country is not None and day in country)

    schedule = Schedule(
        ZoneInfo(calendar.time_zone),
        parse_weekly(calendar.weekly_hours or {}),
        always_open=calendar.always_open,
        is_holiday=is_holiday,
        closures=merged(list(calendar.closures.values_list("starts_at", "ends_at"))),
    )
    _schedules[calendar.pk] = (time.monotonic() + settings.ADUAN_SLA_CACHE_SECONDS, schedule)
    return schedule


def policy_for(category_id: int | None, priority: str) -> SLAPolicy | None:
    """The policy for a category and priority, else the default for the priority."""
    global _policies
    expires, known = _policies
    if expires <= time.monotonic():
        known = {
            (p.category_id, p.priority): p for p in SLAPolicy.objects.select_related("calendar")
        }
        _policies = (time.monotonic() + settings.ADUAN_SLA_CACHE_SECONDS, known)
    return known.get((category_id, priority)) or known.get((None, priority))


# --- Clocks ---------------------------------------------------------------------------


def plan_clocks(ticket: Ticket, at: datetime) -> list[Clock]:
    """The first-response and resolution clocks of a ticket being opened at `at` (not
    saved; their ticket is saved first), its due times set on it."""
    policy = policy_for(ticket.category_id, ticket.priority)
    if policy is None:
        return []
    first = _new_clock(ticket, ClockKind.FIRST_RESPONSE, policy, policy.first_response_minutes, at)
    resolution = _new_clock(ticket, ClockKind.RESOLUTION, policy, policy.resolution_minutes, at)
    ticket.first_response_due_at = first.due_at
    ticket.resolution_due_at = resolution.due_at
    return [first, resolution]


def start_clocks(clocks: Sequence[Clock]) -> None:
    """Stores planned clocks, their tickets saved (one INSERT)."""
    Clock.objects.bulk_create(clocks)


def _new_clock(
    ticket: Ticket,
    kind: str,
    policy: SLAPolicy,
    minutes: int,
    at: datetime,
    *,
    calendar: BusinessCalendar | None = None,
    round_: int = 0,
) -> Clock:
    calendar = calendar or policy.calendar
    clock = Clock(
        ticket=ticket,
        kind=kind,
        round=round_,
        policy=policy,
        calendar=calendar,
        window=timedelta(minutes=minutes),
        started_at=at,
    )
    _run_from(clock, at, clock.window)
    return clock


def _run_from(clock: Clock, at: datetime, left: timedelta) -> None:
    """Sets the clock running from `at` with `left` of its window to go."""
    schedule = schedule_for(clock.calendar)
    warn_share = (clock.policy.warning_percent if clock.policy else 80) / 100
    before_warning = max(left - clock.window * (1 - warn_share), timedelta(0))
    try:
        clock.due_at = schedule.add(at, left)
        clock.warn_at = schedule.add(at, before_warning)
    except NeverOpen:
        logger.error(
            "calendar %s never opens: clock of ticket %s has no due time",
            clock.calendar,
            clock.ticket_id,
        )
        clock.due_at = clock.warn_at = None
    clock.paused_at, clock.pause_reason, clock.remaining = None, "", None
    clock.next_check_at = _next_check(clock)


def _next_check(clock: Clock) -> datetime | None:
    """When the sweep must next look at the clock: its warning, its breach, its next
    level; None when there is nothing left to do."""
    if clock.stopped_at or clock.paused_at or clock.due_at is None:
        return None
    if clock.breached_at is None:
        return clock.warn_at if clock.warned_at is None and clock.warn_at else clock.due_at
    if clock.level >= MAX_LEVEL:
        return None
    return _level_at(clock, clock.level + 1)


def _level_at(clock: Clock, level: int) -> datetime:
    """When a breached clock reaches `level`: its policy's delay after the due time, in
    business time."""
    assert clock.due_at is not None  # noqa: S101 - only breached clocks get here
    delays = DEFAULT_DELAYS
    if clock.policy is not None:
        delays = {1: 0, 2: clock.policy.level2_after_minutes, 3: clock.policy.level3_after_minutes}
    return schedule_for(clock.calendar).add(clock.due_at, timedelta(minutes=delays[level]))


def _running(ticket: Ticket, *kinds: str) -> list[Clock]:
    clocks = Clock.objects.select_related("calendar", "policy").filter(
        ticket=ticket, kind__in=kinds, stopped_at__isnull=True
    )
    return list(clocks.order_by("-round"))


def clocks_follow(ticket: Ticket, from_status: str, to_status: str, at: datetime) -> None:
    """Moves a ticket's clocks with its transition (called in the transition's
    transaction): the resolution clock pauses while the ticket waits for the citizen and
    resumes after, starts again on a reopen; a partner's clock runs while the partner
    holds it; everything stops at the end."""
    changed: list[Clock] = []
    if to_status in STOPPING:
        for clock in _running(ticket, *ClockKind.values):
            clock.stopped_at, clock.next_check_at = at, None
            changed.append(clock)
    elif to_status == Status.WAITING_CITIZEN:
        for clock in _running(ticket, ClockKind.RESOLUTION)[:1]:
            if clock.paused_at is None and clock.due_at is not None:
                schedule = schedule_for(clock.calendar)
                clock.remaining = max(schedule.between(at, clock.due_at), timedelta(0))
                clock.paused_at, clock.due_at, clock.next_check_at = at, None, None
                clock.pause_reason = _("Menunggu jawaban warga.")
                changed.append(clock)
                ticket.resolution_due_at, ticket.sla_paused_reason = None, clock.pause_reason
    elif from_status == Status.WAITING_CITIZEN:
        for clock in _running(ticket, ClockKind.RESOLUTION)[:1]:
            if clock.paused_at is not None:
                _run_from(clock, at, clock.remaining or timedelta(0))
                changed.append(clock)
                ticket.resolution_due_at, ticket.sla_paused_reason = clock.due_at, ""
    if from_status == Status.RESOLVED and to_status not in STOPPING:
        _restart_resolution(ticket, at)
    if to_status == Status.WITH_PARTNER:
        _start_partner_clock(ticket, at)
    elif from_status == Status.WITH_PARTNER and to_status not in STOPPING:
        for clock in _running(ticket, ClockKind.PARTNER_UPDATE):
            clock.stopped_at, clock.next_check_at = at, None
            changed.append(clock)
    if changed:
        save_fields(
            changed,
            [
                "due_at",
                "warn_at",
                "paused_at",
                "pause_reason",
                "remaining",
                "stopped_at",
                "next_check_at",
            ],
        )
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        sla_paused_reason=ticket.sla_paused_reason,
    )


def _restart_resolution(ticket: Ticket, at: datetime) -> None:
    """A reopened ticket gets a new resolution clock (a new round: the old one's
    escalations stay what they were)."""
    policy = policy_for(ticket.category_id, ticket.priority)
    if policy is None:
        return
    last = Clock.objects.filter(ticket=ticket, kind=ClockKind.RESOLUTION).order_by("-round").first()
    clock = _new_clock(
        ticket,
        ClockKind.RESOLUTION,
        policy,
        policy.resolution_minutes,
        at,
        round_=(last.round + 1) if last else 0,
    )
    clock.save(force_insert=True)
    ticket.resolution_due_at, ticket.sla_paused_reason = clock.due_at, ""


def _start_partner_clock(ticket: Ticket, at: datetime) -> None:
    """The partner must post an update every partner-update window, counted on the
    partner's own calendar (a pharmacy closed for Eid is not late), else the policy's."""
    policy = policy_for(ticket.category_id, ticket.priority)
    if policy is None:
        return
    calendar = BusinessCalendar.objects.filter(organisations=ticket.partner_id).first()
    last = (
        Clock.objects.filter(ticket=ticket, kind=ClockKind.PARTNER_UPDATE)
        .order_by("-round")
        .first()
    )
    clock = _new_clock(
        ticket,
        ClockKind.PARTNER_UPDATE,
        policy,
        policy.partner_update_minutes,
        at,
        calendar=calendar,
        round_=(last.round + 1) if last else 0,
    )
    clock.organisation_id = ticket.partner_id
    clock.save(force_insert=True)


def start_consult_clock(
    ticket: Ticket, organisation: Any, minutes: int, at: datetime, round_: int
) -> Clock | None:
    """The clock of a consult request: `minutes` of the consulted body's business time
    (its calendar, else the ticket's policy's); None if neither has a calendar."""
    policy = policy_for(ticket.category_id, ticket.priority)
    calendar = organisation.calendar or (policy.calendar if policy else None)
    if calendar is None:
        return None
    clock = Clock(
        ticket=ticket,
        kind=ClockKind.CONSULT,
        round=round_,
        policy=policy,
        calendar=calendar,
        organisation=organisation,
        window=timedelta(minutes=minutes),
        started_at=at,
    )
    _run_from(clock, at, clock.window)
    clock.save(force_insert=True)
    return clock


def stop_clock(clock_id: int | None, at: datetime) -> None:
    """Stops one clock (a consult answered or withdrawn)."""
    if clock_id is not None:
        Clock.objects.filter(pk=clock_id, stopped_at__isnull=True).update(
            stopped_at=at, next_check_at=None
        )


def partner_updated(ticket: Ticket, at: datetime) -> None:
    """A partner's update: its window starts again from now (for the partner issue)."""
    for clock in _running(ticket, ClockKind.PARTNER_UPDATE)[:1]:
        clock.started_at = at
        clock.warned_at = clock.breached_at = None
        _run_from(clock, at, clock.window)
        clock.save()


def first_response_made(ticket: Ticket, at: datetime) -> None:
    """A person's first public reply: the first-response clock has done its job."""
    Clock.objects.filter(
        ticket=ticket, kind=ClockKind.FIRST_RESPONSE, stopped_at__isnull=True
    ).update(stopped_at=at, next_check_at=None)


def replan(ticket: Ticket, at: datetime) -> None:
    """Priority or category changed: running clocks take the new policy's windows,
    counted from when they started; a ticket made critical escalates at once."""
    critical_opened([ticket], at)
    policy = policy_for(ticket.category_id, ticket.priority)
    if policy is None:
        return
    windows = {
        ClockKind.FIRST_RESPONSE: policy.first_response_minutes,
        ClockKind.RESOLUTION: policy.resolution_minutes,
        ClockKind.PARTNER_UPDATE: policy.partner_update_minutes,
    }
    for clock in _running(ticket, *ClockKind.values):
        if clock.paused_at is not None:
            continue
        clock.policy, clock.calendar = policy, policy.calendar
        clock.window = timedelta(minutes=windows[ClockKind(clock.kind)])
        schedule = schedule_for(clock.calendar)
        used = max(schedule.between(clock.started_at, at), timedelta(0))
        clock.breached_at = clock.breached_at if clock.level else None
        _run_from(clock, at, max(clock.window - used, timedelta(0)))
        clock.save()
        if clock.kind == ClockKind.FIRST_RESPONSE:
            ticket.first_response_due_at = clock.due_at
        elif clock.kind == ClockKind.RESOLUTION:
            ticket.resolution_due_at = clock.due_at
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
    )


# --- The sweep ------------------------------------------------------------------------


@dataclass
class SweepResult:
    clocks: int = 0
    warnings: int = 0
    escalations: int = 0
    reminders: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "clocks": self.clocks,
            "warnings": self.warnings,
            "escalations": self.escalations,
            "reminders": self.reminders,
        }


def sweep(at: datetime | None = None, *, batch: int = 200, limit: int = 10_000) -> SweepResult:
    """Warns and escalates every clock whose next check has come by `at` (default now);
    claims them `batch` at a time with SKIP LOCKED, each batch one transaction."""
    at = at or timezone.now()
    result = SweepResult()
    while result.clocks < limit:
        claimed = _sweep_batch(at, min(batch, limit - result.clocks), result)
        if not claimed:
            break
        result.clocks += claimed
    while result.reminders < limit and (reminded := _remind(at, batch)):
        result.reminders += reminded
    return result


def _sweep_batch(at: datetime, size: int, result: SweepResult) -> int:
    with transaction.atomic():
        due = list(
            Clock.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket", "policy", "calendar")
            .filter(next_check_at__lte=at)
            .order_by("next_check_at")[:size]
        )
        reached: list[tuple[Clock, int]] = []
        warned_before = {c.pk for c in due if c.warned_at is not None}
        for clock in due:
            reached += _advance(clock, at, result)
        warned = [
            c.pk
            for c in due
            if c.pk not in warned_before and c.breached_at is None and c.ticket.assignee_id
        ]
        if warned:
            from escalation.tasks import send_warning_notices

            transaction.on_commit(partial(send_warning_notices.delay, warned))
        result.escalations += _escalate_once(reached)
        save_fields(due, SWEEP_FIELDS)
        return len(due)


def _advance(clock: Clock, at: datetime, result: SweepResult) -> list[tuple[Clock, int]]:
    """What the clock owes by `at`: its warning now; the levels it has reached, returned
    for `_escalate_once`."""
    assert clock.due_at is not None  # noqa: S101 - a clock without a due time is never due
    reached: list[tuple[Clock, int]] = []
    if clock.breached_at is None and at < clock.due_at:
        if clock.warned_at is None:
            clock.warned_at = at
            result.warnings += 1
            _notify(clock.ticket, "sla.warning", clock=clock.kind, due_at=clock.due_at.isoformat())
    else:
        clock.breached_at = clock.breached_at or clock.due_at
        clock.warned_at = clock.warned_at or at
        for level in range(clock.level + 1, MAX_LEVEL + 1):
            if _level_at(clock, level) > at:
                break
            reached.append((clock, level))
            clock.level = level
    clock.next_check_at = _next_check(clock)
    return reached


def _escalate_once(reached: list[tuple[Clock, int]]) -> int:
    """Records each (clock, level) escalation not recorded already (the constraint
    decides, whoever else sweeps), raises those tickets' levels, records their events
    and tells the agents; returns how many this call recorded. A few statements for the
    whole batch."""
    if not reached:
        return 0
    rows = [
        Escalation(ticket=clock.ticket, clock=clock, level=level, reason=_breach_reason(clock))
        for clock, level in reached
    ]
    new = _inserted(rows)
    top: dict[int, int] = {}
    for escalation in new:
        top[escalation.ticket_id] = max(top.get(escalation.ticket_id, 0), escalation.level)
    _raise_levels(top)
    from complaints.services.common import new_event

    TicketEvent.objects.bulk_create(
        new_event(
            e.ticket,
            EventKind.ESCALATED,
            by=None,
            note=e.reason,
            data={"clock": e.clock.kind if e.clock else "", "level": e.level},
        )
        for e in new
    )
    _send_notices([e.pk for e in new])
    for escalation in new:
        escalation.ticket.escalation_level = top[escalation.ticket_id]
        _notify(
            escalation.ticket,
            "sla.breached",
            clock=escalation.clock.kind if escalation.clock else "",
            level=escalation.level,
        )
    return len(new)


def _breach_reason(clock: Clock) -> str:
    return _("%(clock)s melewati batas waktu (%(due)s).") % {
        "clock": ClockKind(clock.kind).label,
        "due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M"),
    }


def _inserted(rows: list[Escalation]) -> list[Escalation]:
    """The rows stored by this call: on PostgreSQL one INSERT ... ON CONFLICT DO NOTHING
    RETURNING for all; elsewhere (SQLite, one sweeper) row by row."""
    if connection.vendor != "postgresql":
        stored = []
        for row in rows:
            try:
                with transaction.atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue
            stored.append(row)
        return stored
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Escalation._meta.db_table} "  # noqa: S608
            "(ticket_id, clock_id, level, reason, created_at, reminders) "
            "SELECT *, 0 FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[], %s::text[], "
            "%s::timestamptz[]) "
            "ON CONFLICT (clock_id, level) WHERE clock_id IS NOT NULL DO NOTHING "
            "RETURNING id, clock_id, level",
            [
                [r.ticket_id for r in rows],
                [r.clock_id for r in rows],
                [r.level for r in rows],
                [r.reason for r in rows],
                [now] * len(rows),
            ],
        )
        done = {(clock_id, level): pk for pk, clock_id, level in cursor.fetchall()}
    stored = []
    for row in rows:
        if (pk := done.get((row.clock_id, row.level))) is not None:
            row.pk, row.created_at = pk, now
            stored.append(row)
    return stored


def _raise_levels(top: dict[int, int]) -> None:
    """Each ticket's escalation level raised to at least its new top (never lowered)."""
    if not top:
        return
    if connection.vendor != "postgresql":
        for pk, level in top.items():
            Ticket.objects.filter(pk=pk).update(
                escalation_level=Greatest(F("escalation_level"), level)
            )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Ticket._meta.db_table} t "  # noqa: S608
            "SET escalation_level = GREATEST(t.escalation_level, v.level) "
            "FROM unnest(%s::bigint[], %s::smallint[]) AS v(id, level) WHERE t.id = v.id",
            [list(top), list(top.values())],
        )


def _raise_level(ticket: Ticket, level: int, reason: str, *, by: Any, data: dict[str, Any]) -> None:
    from complaints.services.common import record_event

    Ticket.objects.filter(pk=ticket.pk).update(
        escalation_level=Greatest(F("escalation_level"), level)
    )
    ticket.escalation_level = max(ticket.escalation_level, level)
    record_event(ticket, EventKind.ESCALATED, by=by, note=reason, data=data)


def _notify(ticket: Ticket, kind: str, **extra: Any) -> None:
    """A live push to the agents after commit (email and stakeholder webhooks: to come)."""
    from complaints.services.common import broadcast

    broadcast(ticket, kind, **extra)


# --- By hand --------------------------------------------------------------------------


def escalate(ticket: Ticket, *, by: Any, reason: str) -> Escalation:
    """An agent escalates the ticket one level, with a reason, at any moment; nothing
    else changes (its state, its clocks, the conversation)."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only staff escalate tickets."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the ticket is escalated.")})
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.escalation_level >= MAX_LEVEL:
            raise ValidationError({"level": _("The ticket is at the highest level already.")})
        level = locked.escalation_level + 1
        escalation = Escalation.objects.create(ticket=locked, level=level, reason=reason, by=by)
        _raise_level(locked, level, reason, by=by, data={"level": level, "manual": True})
        _notify(locked, "ticket.escalated", level=level)
        _send_notices([escalation.pk])
    ticket.escalation_level = level
    return escalation


# --- Critical priority, contacts and notices -----------------------------------------


def critical_opened(tickets: Sequence[Ticket], at: datetime) -> None:
    """Critical tickets escalate to level 1 at once, and their contacts are told again
    every ADUAN_CRITICAL_REPEAT_MINUTES until someone acknowledges (the sweep repeats)."""
    critical = [t for t in tickets if t.priority == Priority.CRITICAL and t.escalation_level < 1]
    if not critical:
        return
    reason = _("Prioritas kritis: eskalasi segera ke petugas jaga.")
    repeat = at + timedelta(minutes=settings.ADUAN_CRITICAL_REPEAT_MINUTES)
    rows = Escalation.objects.bulk_create(
        Escalation(ticket=t, level=1, reason=reason, repeat_at=repeat) for t in critical
    )
    _raise_levels({t.pk: 1 for t in critical})
    from complaints.services.common import new_event

    TicketEvent.objects.bulk_create(
        new_event(t, EventKind.ESCALATED, by=None, note=reason, data={"level": 1, "critical": True})
        for t in critical
    )
    for ticket in critical:
        ticket.escalation_level = 1
        _notify(ticket, "ticket.escalated", level=1, critical=True)
    _send_notices([e.pk for e in rows])


def acknowledge(escalation: Escalation, *, by: Any) -> Escalation:
    """Someone on duty has it: no more reminders."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only staff acknowledge escalations."))
    with transaction.atomic():
        locked = (
            Escalation.objects.select_for_update().select_related("ticket").get(pk=escalation.pk)
        )
        if locked.acknowledged_at is None:
            locked.acknowledged_at, locked.acknowledged_by, locked.repeat_at = (
                timezone.now(),
                by,
                None,
            )
            locked.save(update_fields=["acknowledged_at", "acknowledged_by", "repeat_at"])
            from complaints.services.common import record_event

            record_event(
                locked.ticket,
                EventKind.ESCALATED,
                by=by,
                note=_("Eskalasi level %(level)d diterima.") % {"level": locked.level},
                data={"level": locked.level, "acknowledged": True},
            )
            _notify(locked.ticket, "ticket.escalation_acknowledged", level=locked.level)
    return locked


def _remind(at: datetime, size: int) -> int:
    """Critical escalations nobody acknowledged, told again (one batch)."""
    with transaction.atomic():
        due = list(
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(repeat_at__lte=at, acknowledged_at__isnull=True)
            .order_by("repeat_at")[:size]
        )
        for escalation in due:
            escalation.reminders += 1
            escalation.repeat_at = at + timedelta(minutes=settings.ADUAN_CRITICAL_REPEAT_MINUTES)
        save_fields(due, ["reminders", "repeat_at"])
        _send_notices([e.pk for e in due])
        return len(due)


def on_duty(organisation_id: int | None, level: int, at: datetime) -> list[EscalationContact]:
    """The active contacts for an organisation (None: the institution) and level who are
    on duty at `at`: on a shift then, or without any shift at all."""
    contacts = EscalationContact.objects.filter(level=level, is_active=True)
    if organisation_id is None:
        contacts = contacts.filter(organisation__isnull=True)
    else:
        contacts = contacts.filter(organisation_id=organisation_id)
    contacts = contacts.prefetch_related("shifts")
    found = []
    for contact in contacts:
        shifts = list(contact.shifts.all())
        if not shifts or any(s.starts_at <= at < s.ends_at for s in shifts):
            found.append(contact)
    return found


def _send_notices(escalation_ids: list[int]) -> None:
    if escalation_ids:
        from escalation.tasks import send_escalation_notices

        transaction.on_commit(partial(send_escalation_notices.delay, escalation_ids))


def send_escalation_notices(escalation_ids: list[int]) -> int:
    """Tells the on-duty contacts of each escalation by email, and the stakeholder
    webhook if one is set (ADUAN_ESCALATION_WEBHOOK_URL, signed with HMAC-SHA256).
    Raises what the mail server or the webhook raised, for the task to retry; returns
    the emails sent."""
    escalations = Escalation.objects.select_related("ticket", "clock").filter(pk__in=escalation_ids)
    now = timezone.now()
    mails = []
    for escalation in escalations:
        ticket = escalation.ticket
        holder = escalation.clock.organisation_id if escalation.clock else None
        if holder is None and ticket.status == Status.WITH_PARTNER:
            holder = ticket.partner_id
        contacts = on_duty(holder, escalation.level, now) or (
            on_duty(None, escalation.level, now) if holder else []
        )
        subject = _("[%(number)s] Eskalasi level %(level)d") % {
            "number": ticket.number,
            "level": escalation.level,
        }
        body = "\n".join(
            [
                escalation.reason,
                _("Tiket: %(number)s — %(subject)s")
                % {"number": ticket.number, "subject": ticket.subject},
                _("Prioritas: %(priority)s; status: %(status)s")
                % {"priority": ticket.priority, "status": ticket.status},
                _("Pengingat ke-%(n)d.") % {"n": escalation.reminders}
                if escalation.reminders
                else "",
            ]
        ).strip()
        mails += [
            EmailMessage(subject=subject, body=body, to=[c.email]) for c in contacts if c.email
        ]
        if settings.ADUAN_ESCALATION_WEBHOOK_URL:
            if not settings.ADUAN_ESCALATION_WEBHOOK_SECRET:
                logger.error("ADUAN_ESCALATION_WEBHOOK_URL is set without its secret: not sent")
            else:
                _post_webhook(escalation)
    if mails:
        get_connection().send_messages(mails)
    return len(mails)


def _post_webhook(escalation: Escalation) -> None:
    """The escalation POSTed to the stakeholder URL: signed over the timestamp and body
    (X-Aduan-Signature: sha256=<hex>), with a delivery id that stays the same on every
    retry of the same notice, so the receiver can drop duplicates."""
    ticket = escalation.ticket
    body = json.dumps(
        {
            "event": "ticket.escalated",
            "ticket": ticket.number,
            "level": escalation.level,
            "reason": escalation.reason,
            "clock": escalation.clock.kind if escalation.clock else None,
            "reminder": escalation.reminders,
            "at": escalation.created_at.isoformat(),
        },
        separators=(",", ":"),
    ).encode()
    stamp = str(int(time.time()))
    secret = settings.ADUAN_ESCALATION_WEBHOOK_SECRET.encode()
    signature = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Aduan-Timestamp": stamp,
        "X-Aduan-Signature": f"sha256={signature}",
        "X-Aduan-Delivery": f"escalation-{escalation.pk}-{escalation.reminders}",
    }
    reply = httpx.post(
        settings.ADUAN_ESCALATION_WEBHOOK_URL, content=body, headers=headers, timeout=10
    )
    reply.raise_for_status()


def send_warning_notices(clock_ids: list[int]) -> int:
    """Tells each warned clock's assignee by email that its time is running out (the
    agents' screens have the live push already); returns the emails sent."""
    clocks = Clock.objects.select_related("ticket__assignee").filter(pk__in=clock_ids)
    mails = []
    for clock in clocks:
        assignee = clock.ticket.assignee
        if assignee is None or not assignee.email or clock.due_at is None:
            continue
        due = timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")
        mails.append(
            EmailMessage(
                subject=_("[%(number)s] Peringatan SLA: %(clock)s")
                % {"number": clock.ticket.number, "clock": ClockKind(clock.kind).label},
                body=_("%(clock)s tiket %(number)s jatuh tempo %(due)s.")
                % {"clock": ClockKind(clock.kind).label, "number": clock.ticket.number, "due": due},
                to=[assignee.email],
            )
        )
    if mails:
        get_connection().send_messages(mails)
    return len(mails)
