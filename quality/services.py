"""The same-answer detector's write path: fingerprint a reply, flag what it repeats,
review a flag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.choices import AuthorKind, Direction
from complaints.models import Message
from complaints.roles import Role, role_of
from quality import detector
from quality.models import FlagState, ReplyFingerprint, SameAnswerFlag

LOOKBACK = timedelta(days=90)
COMPARED = 500  # the author's most recent replies a new one is compared with
AUTHORS = (AuthorKind.AGENT, AuthorKind.PARTNER)


def is_checked(message: Message) -> bool:
    """Replies people send to citizens are checked (not notes, not acknowledgements)."""
    return (
        message.direction == Direction.OUTBOUND
        and not message.is_internal
        and message.author_kind in AUTHORS
    )


def fingerprint_reply(message_id: int) -> list[SameAnswerFlag]:
    """Fingerprints the reply and the question it answered, and flags the author's earlier
    replies it repeats for questions that were not alike; returns the new flags. Once per
    reply (a second call finds its fingerprint and does nothing)."""
    message = Message.objects.select_related("ticket__citizen").filter(pk=message_id).first()
    if message is None or not is_checked(message):
        return []
    if ReplyFingerprint.objects.filter(message=message).exists():
        return []
    question_text = _question(message)
    names = [message.ticket.citizen.name]
    reply = detector.signature(message.body, names)
    question = detector.signature(question_text, names)
    author_key = _author_key(message)
    earlier = list(
        ReplyFingerprint.objects.filter(
            author_key=author_key, created_at__gte=message.created_at - LOOKBACK
        )
        .exclude(ticket=message.ticket)
        .order_by("-created_at")
        .values_list("message_id", "reply", "question", "category_id")[:COMPARED]
    )
    flags = []
    if earlier:
        replies = np.stack([detector.from_bytes(bytes(row[1])) for row in earlier])
        questions = np.stack([detector.from_bytes(bytes(row[2])) for row in earlier])
        reply_sims = detector.similarities(reply, replies)
        question_sims = detector.similarities(question, questions)
        category = message.ticket.category_id
        for (other, _r, _q, their), r_sim, q_sim in zip(
            earlier, reply_sims, question_sims, strict=True
        ):
            same_category = None if category is None or their is None else category == their
            if detector.same_answer(float(r_sim), float(q_sim), same_category):
                flags.append(
                    SameAnswerFlag(
                        reply=message,
                        earlier_id=other,
                        author_id=message.author_id,
                        reply_similarity=round(float(r_sim), 3),
                        question_similarity=round(float(q_sim), 3),
                    )
                )
    with transaction.atomic():
        _fingerprint, created = ReplyFingerprint.objects.get_or_create(
            message=message,
            defaults={
                "ticket": message.ticket,
                "author_key": author_key,
                "category_id": message.ticket.category_id,
                "reply": detector.to_bytes(reply),
                "question": detector.to_bytes(question),
                "question_text": question_text[:4000],
                "created_at": message.created_at,
            },
        )
        if not created:
            return []
        return SameAnswerFlag.objects.bulk_create(flags, ignore_conflicts=True)


def review_flag(flag: SameAnswerFlag, *, by: Any, confirmed: bool) -> SameAnswerFlag:
    """A supervisor's verdict on a flag."""
    if role_of(by) is not Role.SUPERVISOR:
        raise PermissionDenied(_("Supervisors review flagged replies."))
    state = FlagState.CONFIRMED if confirmed else FlagState.DISMISSED
    SameAnswerFlag.objects.filter(pk=flag.pk).update(
        state=state, reviewed_by=by, reviewed_at=timezone.now()
    )
    flag.refresh_from_db()
    return flag


def unfingerprinted(since: timedelta = timedelta(days=2), limit: int = 1000) -> list[int]:
    """Replies of the last `since` with no fingerprint yet (their task was lost)."""
    return list(
        Message.objects.filter(
            direction=Direction.OUTBOUND,
            is_internal=False,
            author_kind__in=AUTHORS,
            created_at__gte=timezone.now() - since,
            fingerprint__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _question(message: Message) -> str:
    """What the reply answered: the subject and the citizen's messages since the
    previous reply (or since the start)."""
    before = Message.objects.filter(
        ticket=message.ticket, is_internal=False, pk__lt=message.pk
    ).order_by("-pk")
    said: list[str] = []
    for direction, body in before.values_list("direction", "body")[:20]:
        if direction == Direction.OUTBOUND and said:
            break
        if direction == Direction.INBOUND:
            said.append(body)
    return "\n".join([message.ticket.subject, *reversed(said)])


def _author_key(message: Message) -> str:
    return f"user:{message.author_id}" if message.author_id else f"bot:{message.author_kind}"
