"""Citizens rate a resolution, once per resolution."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from complaints.choices import Status
from complaints.exceptions import TicketConflict
from complaints.models import Rating, Ticket
from complaints.roles import Role, role_of
from complaints.services.common import lock_ticket


@transaction.atomic
def rate_ticket(*, ticket: Ticket, by: Any, score: int, comment: str = "") -> Rating:
    """The owner's rating of the current resolution; a second one is a conflict."""
    if role_of(by) is not Role.CITIZEN or ticket.citizen.user_id != by.pk:
        raise PermissionDenied(_("Only the citizen who complained rates the ticket."))
    if not 1 <= score <= 5:
        raise ValidationError({"score": [_("Give a score from 1 to 5.")]})
    ticket = lock_ticket(ticket, None)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise TicketConflict(_("A ticket can be rated once it is resolved."))
    try:
        with transaction.atomic():
            return Rating.objects.create(
                ticket=ticket,
                resolution_round=ticket.reopen_count,
                score=score,
                comment=comment.strip(),
            )
    except IntegrityError as exc:
        raise TicketConflict(_("This resolution was already rated.")) from exc
