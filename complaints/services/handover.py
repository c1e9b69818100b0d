"""Shift handover notes: what one shift tells the next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import HandoverNote
from complaints.roles import STAFF_ROLES, role_of
from complaints.shifts import shift_at


def write_handover_note(*, by: Any, body: str, at: datetime | None = None) -> HandoverNote:
    """A note from the shift running at `at` (now) for the one that follows it."""
    if role_of(by) not in STAFF_ROLES:
        raise PermissionDenied(_("Only agents write handover notes."))
    if not body.strip():
        raise ValidationError({"body": _("Write what the next shift needs to know.")})
    _start, end = shift_at(at or timezone.now())
    return HandoverNote.objects.create(shift_start=end, author=by, body=body.strip())
