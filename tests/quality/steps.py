"""Steps the CSAT tests share."""

from __future__ import annotations

from typing import Any

from django.test import TestCase

from complaints.models import Ticket
from complaints.services import transition_ticket


def resolved_and_asked(ticket: Ticket, by: Any, reason: str = "Selesai") -> Ticket:
    """The ticket triaged, started and resolved by `by`, with what the resolution does
    after commit (the satisfaction question goes out) run."""
    for step in ("triage", "start"):
        ticket = transition_ticket(ticket=ticket, transition=step, by=by)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return transition_ticket(ticket=ticket, transition="resolve", by=by, reason=reason)
