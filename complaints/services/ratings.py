"""Outcome CSAT: the citizen answers, once per resolution, whether the complaint was
handled in time (1-5) and whether the problem is actually solved. "Not solved" reopens
the ticket and tells its assignee; a low score or "not solved" opens a supervisor review
(the quality app)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from complaints.choices import Channel, Status
from complaints.exceptions import TicketConflict
from complaints.models import Rating, Ticket
from complaints.roles import Role, role_of
from complaints.services.common import lock_ticket

NOT_SOLVED_REASON = "Warga menyatakan masalahnya belum selesai."


@transaction.atomic
def rate_ticket(
    *,
    ticket: Ticket,
    by: Any,
    score: int | None,
    comment: str = "",
    solved: bool | None = None,
    channel: str = Channel.API,
) -> Rating:
    """The owner's answer about the current resolution; a second one is a conflict."""
    if role_of(by) is not Role.CITIZEN or ticket.citizen.user_id != by.pk:
        raise PermissionDenied(_("Only the citizen who complained rates the ticket."))
    return record_rating(
        ticket=ticket, score=score, solved=solved, comment=comment, channel=channel
    )


@transaction.atomic
def record_rating(
    *,
    ticket: Ticket,
    score: int | None,
    solved: bool | None,
    comment: str = "",
    channel: str = "",
    resolution_round: int | None = None,
) -> Rating:
    """Stores the citizen's answer (the caller has made sure it is theirs: their API
    account, their channel identity, their signed link); reopens the ticket when it is
    not solved (a closed ticket stays closed: the answer is reviewed), and has low answers
    reviewed. With `resolution_round`, the answer must be about the current resolution."""
    if score is not None and not 1 <= score <= 5:
        raise ValidationError({"score": [_("Give a score from 1 to 5.")]})
    if score is None and solved is None:
        raise ValidationError({"score": [_("Say how it went: a score, or solved or not.")]})
    ticket = lock_ticket(ticket, None)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise TicketConflict(_("A ticket can be rated once it is resolved."))
    if resolution_round is not None and resolution_round != ticket.reopen_count:
        raise TicketConflict(_("This question was about an earlier resolution."))
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                ticket=ticket,
                resolution_round=ticket.reopen_count,
                score=score,
                solved=solved,
                comment=comment.strip(),
                channel=channel,
            )
    except IntegrityError as exc:
        raise TicketConflict(_("This resolution was already rated.")) from exc
    from quality import services as quality  # the quality app depends on this one

    quality.rating_received(rating)
    if solved is False and ticket.status == Status.RESOLVED:
        from complaints.services.lifecycle import transition_ticket

        transition_ticket(ticket=ticket, transition="reopen", by=None, reason=NOT_SOLVED_REASON)
        quality.reopened_by_citizen(rating)
    return rating
