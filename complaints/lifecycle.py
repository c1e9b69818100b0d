"""The ticket lifecycle as a django-fsm-2 state machine.

Transitions touch only their own row: no queries, no I/O. Services lock the row, call a
transition, save and record the event in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from complaints.choices import EventKind, Status
from complaints.roles import Role, may

S = Status
OPEN = Status.open_states()
STAFF = (Role.AGENT, Role.SUPERVISOR)


def _custom(
    label: str | Promise, event: EventKind, *, reason: bool = False, **extra: Any
) -> dict[str, Any]:
    """Metadata the admin and services read: button label, event kind, reason required."""
    return {"label": label, "event": event, "reason_required": reason, **extra}


class TicketLifecycle(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    status = FSMField(choices=Status.choices, default=Status.NEW, protected=True, db_index=True)
    partner = models.ForeignKey(
        "partners.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text=_("The partner organisation holding the ticket now."),
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_tickets"
    )
    resolution_summary = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        abstract = True

    @property
    def state_fields(self) -> tuple[Any, ...]:
        """The one state field. django-fsm finds them by testing every field, for each
        ticket loaded: a few percent of a Celery worker's time at channel rates."""
        return (self._meta.get_field("status"),)

    @transition(
        field=status,
        source=S.NEW,
        target=S.TRIAGED,
        permission=may(*STAFF, Role.SYSTEM),
        custom=_custom(_("Triage"), EventKind.TRIAGED),
    )
    def triage(self) -> None:
        """Accepted for handling: an agent (or a rule) has looked at it."""

    @transition(
        field=status,
        source=S.TRIAGED,
        target=S.IN_PROGRESS,
        permission=may(*STAFF),
        custom=_custom(_("Start work"), EventKind.STARTED),
    )
    def start(self) -> None:
        """Someone is working on it."""

    @transition(
        field=status,
        source=S.IN_PROGRESS,
        target=S.WAITING_CITIZEN,
        permission=may(*STAFF),
        custom=_custom(_("Wait for citizen"), EventKind.WAITING, reason=True),
    )
    def wait_for_citizen(self) -> None:
        """Paused until the citizen answers a question."""

    @transition(
        field=status,
        source=S.WAITING_CITIZEN,
        target=S.IN_PROGRESS,
        permission=may(*STAFF, Role.SYSTEM),
        custom=_custom(_("Resume"), EventKind.RESUMED),
    )
    def resume(self) -> None:
        """Work continues, usually because the citizen replied."""

    @transition(
        field=status,
        source=[S.TRIAGED, S.IN_PROGRESS],
        target=S.WITH_PARTNER,
        permission=may(*STAFF),
        custom=_custom(
            _("Dispatch to partner"), EventKind.DISPATCHED, reason=True, needs="partner"
        ),
    )
    def dispatch(self, partner_id: int) -> None:
        self.partner_id = partner_id

    @transition(
        field=status,
        source=S.WITH_PARTNER,
        target=S.IN_PROGRESS,
        permission=may(*STAFF, Role.PARTNER),
        custom=_custom(_("Take back from partner"), EventKind.RETURNED),
    )
    def take_back(self) -> None:
        self.partner_id = None

    @transition(
        field=status,
        source=S.WITH_PARTNER,
        target=S.IN_PROGRESS,
        permission=may(Role.PARTNER),
        custom=_custom(_("Mark done"), EventKind.PARTNER_DONE, reason=True),
    )
    def partner_done(self) -> None:
        """The partner did its part; the agents check and resolve."""
        self.partner_id = None

    @transition(
        field=status,
        source=[S.TRIAGED, S.IN_PROGRESS, S.WITH_PARTNER],
        target=S.RESOLVED,
        permission=may(*STAFF),
        custom=_custom(_("Resolve"), EventKind.RESOLVED, reason=True, needs="summary"),
    )
    def resolve(self, summary: str = "") -> None:
        self.resolution_summary = summary
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=S.RESOLVED,
        target=S.CLOSED,
        permission=may(*STAFF, Role.SYSTEM),
        custom=_custom(_("Close"), EventKind.CLOSED),
    )
    def close(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=S.RESOLVED,
        target=S.IN_PROGRESS,
        permission=may(*STAFF, Role.CITIZEN, Role.SYSTEM),
        custom=_custom(_("Reopen"), EventKind.REOPENED),
    )
    def reopen(self) -> None:
        self.resolved_at = None
        self.reopen_count += 1

    @transition(
        field=status,
        source=[S.NEW, S.TRIAGED, S.IN_PROGRESS],
        target=S.REJECTED,
        permission=may(*STAFF),
        custom=_custom(_("Reject"), EventKind.REJECTED, reason=True),
    )
    def reject(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=OPEN,
        target=S.MERGED,
        permission=may(*STAFF),
        custom=_custom(_("Merge into another ticket"), EventKind.MERGED, reason=True, needs="into"),
    )
    def merge(self, into_id: int) -> None:
        self.merged_into_id = into_id
        self.closed_at = timezone.now()
